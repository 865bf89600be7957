"""The clients file of ``sales-rca batch``: read, check and turn into one job per client.

Everything a user can get wrong is found here, before any notebook runs: unknown keys, parameter
names the notebook does not declare (papermill writes names into code unquoted, so only declared
identifiers pass), values of the wrong type, duplicate slugs, a client without an export. Problems
that belong to one client only (a missing export file) do not stop the batch: they fail that client.

Format::

    notebook: my_diagnostic.ipynb             # optional; default: the packaged diagnostic
    defaults:                                 # optional; parameters every client gets
      currency: USD
    clients:
      - name: Northwind Demo Co.              # becomes the `client` parameter and the slug
        slug: northwind                       # optional; default from the name
        parameters:
          export_path: demo/salesforce_opportunities.csv   # relative to this file

An optional ``vocabulary:`` maps this portfolio's stage and segment names to the shared names of
the anonymised ``benchmark.json`` (:mod:`sales_rca.impact.benchmark`)::

    vocabulary:
      stages:
        Discovery: [Needs Analysis, Discovery call]     # shared name: the clients' names for it
      segments:
        Enterprise: [Key Accounts]

A client's parameters are the notebook's own defaults, then ``defaults:``, then the client's own
``parameters``; nothing comes from another client. Every parameter is passed to the notebook
explicitly, so the executed notebook and the manifest show exactly what a summary was made from.
"""

from __future__ import annotations

import ast
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    StrictStr,
    create_model,
)

from sales_rca import resources
from sales_rca.errors import BatchError, problem
from sales_rca.schema import Flag, Number, Text, YamlModel, as_text, comma_list, expect, unique

#: The notebook a clients file runs unless it names another.
DEFAULT_NOTEBOOK = resources.notebook("diagnostic.ipynb")
#: Parameters holding a file (hashed in the manifest) end in ``_path``; ``baseline`` is a folder.
PATH_SUFFIX = "_path"
FOLDER_PARAMETERS = frozenset({"baseline"})
#: The parameter that receives a client's ``name``.
NAME_PARAMETER = "client"
#: The parameter every client must set (when the notebook declares it): its default names nothing.
EXPORT_PARAMETER = "export_path"
SLUG_MAX = 48
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
#: Folder names Windows cannot create (a batch folder may be copied there).
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)


@dataclass(frozen=True)
class Parameter:
    """A parameter the notebook declares: its name, type (as written) and default (as code)."""

    name: str
    type: str
    default: str = ""
    help: str = ""


@dataclass(frozen=True)
class ClientJob:
    """Everything one client's run needs; plain data, so it can be sent to another process.

    ``parameters`` are every parameter the notebook gets (its defaults filled in); ``inputs`` the
    files they name, by parameter (a ``baseline`` folder by the results file read from it).
    """

    name: str
    slug: str
    notebook: str
    out_dir: str
    parameters: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class BatchSpec:
    """A checked clients file."""

    path: Path
    notebook: Path
    parameters: dict[str, Parameter]
    clients: list[dict[str, Any]]
    #: ``{"stages": {shared: [local names]}, "segments": {...}}`` for the benchmark.
    vocabulary: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def jobs(self, out: Path) -> list[ClientJob]:
        """One job per client, writing into ``out/<slug>``; never a folder outside ``out``."""
        out = out.resolve()
        jobs = []
        for client in self.clients:
            folder = (out / client["slug"]).resolve()
            if folder.parent != out:  # cannot happen with a checked slug; never write elsewhere
                raise BatchError(f"Slug {client['slug']!r} would leave the output folder {out}.")
            inputs, problem = _inputs(client["parameters"])
            jobs.append(
                ClientJob(
                    name=client["name"],
                    slug=client["slug"],
                    notebook=str(self.notebook),
                    out_dir=str(folder),
                    parameters=client["parameters"],
                    inputs=inputs,
                    problem=problem,
                )
            )
        return jobs


def slugify(name: str) -> str:
    """A safe folder name for a client: lower-case ASCII letters, digits and single hyphens.

    Never empty, never ``.``/``..``, no separator, at most 48 characters, not a Windows device name.

    Example: ``slugify("Müller & Söhne GmbH")`` -> ``"muller-sohne-gmbh"``.
    """
    ascii_ = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")
    slug = slug[:SLUG_MAX].rstrip("-") or "client"
    if slug in _RESERVED:
        slug = f"{slug}-client"
    return slug


def unique_slugs(names: Iterable[str], given: Iterable[str | None] = ()) -> list[str]:
    """Slugs for ``names``, made unique with ``-2``, ``-3``…; a ``given`` slug is kept as it is."""
    names = list(names)
    given = list(given) or [None] * len(names)
    taken = {g for g in given if g}
    out: list[str] = []
    for name, fixed in zip(names, given, strict=True):
        if fixed:
            out.append(fixed)
            continue
        base = slugify(name)
        slug, n = base, 2
        while slug in taken:
            suffix = f"-{n}"
            slug = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
            n += 1
        taken.add(slug)
        out.append(slug)
    return out


def notebook_parameters(notebook: Path) -> dict[str, Parameter]:
    """The parameters a notebook declares in its ``parameters`` cell (via papermill)."""
    import papermill

    try:
        found = papermill.inspect_notebook(str(notebook))
    except FileNotFoundError:
        raise BatchError(f"Notebook {notebook} not found: name an existing .ipynb.") from None
    except Exception as exc:  # papermill raises plain exceptions for unreadable notebooks
        raise BatchError(f"Notebook {notebook} cannot be read: {exc}") from None
    if not found:
        raise BatchError(
            f"Notebook {notebook} has no cell tagged 'parameters' with parameters: "
            "expected one, so clients can set them."
        )
    return {
        name: Parameter(
            name, p.get("inferred_type_name") or "None", p.get("default") or "", p.get("help") or ""
        )
        for name, p in found.items()
    }


def notebook_defaults(notebook: Path, declared: Mapping[str, Parameter]) -> dict[str, Any]:
    """The values of the notebook's own defaults; a path is resolved against the notebook's folder
    (where its kernel runs). A default that is not a plain literal is left to the notebook."""
    out: dict[str, Any] = {}
    for name, parameter in declared.items():
        try:
            value = ast.literal_eval(parameter.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if _is_path(name) and isinstance(value, str) and value:
            value = str((notebook.parent / value).resolve())
        out[name] = value
    return out


_SAFE = "a safe slug: 1-48 lower-case letters, digits and inner hyphens (e.g. 'acme-emea')"
_Slug = Annotated[
    StrictStr,
    AfterValidator(expect(_SLUG_RE.match, _SAFE)),
    AfterValidator(expect(lambda v: v not in _RESERVED, "a slug that is not a device name")),
]


class _Client(YamlModel):
    name: Text
    slug: _Slug | None = None
    #: Checked against the notebook's parameters (:func:`parameters_model`) once it is known.
    parameters: dict[Any, Any] | None = None


class _Vocabulary(YamlModel):
    stages: dict[Text, list[Text]] | None = None
    segments: dict[Text, list[Text]] | None = None


class ClientsFile(YamlModel):
    """The clients file: an optional notebook and defaults, the clients, and an optional
    vocabulary for the benchmark."""

    notebook: (
        Annotated[
            StrictStr, AfterValidator(expect(lambda v: v.endswith(".ipynb"), "an .ipynb path"))
        ]
        | None
    ) = None
    defaults: dict[Any, Any] | None = None
    clients: Annotated[list[_Client], Field(min_length=1), AfterValidator(unique("slug"))]
    vocabulary: _Vocabulary | None = None


def load_batch(path: str | Path) -> BatchSpec:
    """Read and check a clients file; raise :class:`BatchError` on the first problem found."""
    path = Path(path)
    spec = resources.load_yaml(ClientsFile, path, error=BatchError, what="clients file")
    base = path.resolve().parent
    notebook = DEFAULT_NOTEBOOK if spec.notebook is None else (base / spec.notebook).resolve()
    declared = notebook_parameters(notebook)
    neutral = notebook_defaults(notebook, declared)
    model = parameters_model(declared)
    defaults = _parameters(model, spec.defaults, base, str(path), "defaults")
    clients: list[dict[str, Any]] = []
    for i, client in enumerate(spec.clients, 1):
        name = client.name.strip()
        where = f"client {i} ({name})"
        # The notebook's (neutral) defaults, the file's defaults, the client's own: nothing else.
        own = _parameters(model, client.parameters, base, str(path), f"{where}, parameters")
        params = {**neutral, **defaults, **own}
        if NAME_PARAMETER in declared and NAME_PARAMETER not in own:
            params[NAME_PARAMETER] = name
        if EXPORT_PARAMETER in declared and not params.get(EXPORT_PARAMETER):
            raise BatchError(
                problem(
                    str(path),
                    where,
                    f"{EXPORT_PARAMETER} to name a CRM export",
                    "nothing; set it under the client's 'parameters'",
                )
            )
        clients.append({"name": name, "slug": client.slug, "parameters": params})
    given = [c["slug"] for c in clients]
    for entry, slug in zip(clients, unique_slugs([c["name"] for c in clients], given), strict=True):
        entry["slug"] = slug
    vocabulary = spec.vocabulary.model_dump(exclude_none=True) if spec.vocabulary else {}
    return BatchSpec(
        path=path, notebook=notebook, parameters=declared, clients=clients, vocabulary=vocabulary
    )


def _parameters(
    model: type[BaseModel], raw: dict[Any, Any] | None, base: Path, source: str, where: str
) -> dict[str, Any]:
    """``raw`` checked against the notebook's parameters; a path is resolved against ``base``."""
    given = resources.validate(model, raw or {}, source, error=BatchError, where=where)
    return {
        name: str((base / value).resolve()) if _is_path(name) and value else value
        for name, value in given.model_dump(exclude_unset=True).items()
    }


def _str(value: Any) -> Any:
    return "" if value is None else as_text(value)


#: The value a parameter of each declared type accepts: ``str`` takes text, numbers and dates
#: (as ISO text) and ``null`` (as ``""``); ``list[str]`` a list of such values or a comma-separated
#: text; ``int``, ``float`` and ``bool`` their own; anything else plain YAML.
_KINDS: dict[str, Any] = {
    "str": Annotated[StrictStr, BeforeValidator(_str)],
    "list[str]": Annotated[list[StrictStr], BeforeValidator(comma_list)],
    "list": Annotated[list[StrictStr], BeforeValidator(comma_list)],
    "int": StrictInt,
    "float": Number,
    "bool": Flag,
}
_YAML = (str, int, float, bool, list, dict, type(None))
_PLAIN = Annotated[Any, AfterValidator(expect(lambda v: isinstance(v, _YAML), "plain YAML"))]


def _kind_of(parameter: Parameter) -> Any:
    return _KINDS.get(parameter.type.replace(" ", ""), _PLAIN)


def parameters_model(declared: Mapping[str, Parameter]) -> type[BaseModel]:
    """A model of the parameters a notebook declares: any other name is an unknown key (papermill
    writes names into code unquoted, so only declared identifiers may pass)."""
    fields: dict[str, Any] = {name: (_kind_of(p), None) for name, p in declared.items()}
    return create_model("Parameters", __base__=YamlModel, **fields)


def typed_value(value: Any, parameter: Parameter, where: str = "") -> Any:
    """``value`` converted to the parameter's declared type (see :data:`_KINDS`), or
    :class:`BatchError` naming the parameter."""
    one = parameters_model({parameter.name: parameter})
    checked = resources.validate(one, {parameter.name: value}, error=BatchError, where=where)
    return getattr(checked, parameter.name)


def _is_path(name: str) -> bool:
    return name.endswith(PATH_SUFFIX) or name in FOLDER_PARAMETERS


def _inputs(parameters: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    """The input files of a client (for hashing) and the first missing one, if any.

    Every parameter naming a file is one; a ``baseline`` folder is its ``results.json`` (when it has
    none, the notebook says so).
    """
    from sales_rca.report.summary import RESULTS_FILE  # what the notebook reads from a baseline

    inputs: dict[str, str] = {}
    for name, value in parameters.items():
        if not _is_path(name) or not value:
            continue
        p = Path(value)
        if name in FOLDER_PARAMETERS:
            if not p.is_dir():
                return inputs, f"{name}: folder {p} not found"
            if (p / RESULTS_FILE).is_file():
                inputs[name] = str(p / RESULTS_FILE)
            continue
        if not p.is_file():
            return inputs, f"{name}: file {p} not found"
        inputs[name] = str(p)
    return inputs, None


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
