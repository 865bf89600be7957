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

A client's parameters are the notebook's own defaults, then ``defaults:``, then the client's own
``parameters``; nothing comes from another client. Every parameter is passed to the notebook
explicitly, so the executed notebook and the manifest show exactly what a summary was made from.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import keyword
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sales_rca import resources
from sales_rca.errors import BatchError

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
_TOP_KEYS = frozenset({"notebook", "defaults", "clients"})
_CLIENT_KEYS = frozenset({"name", "slug", "parameters"})


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


def load_batch(path: str | Path) -> BatchSpec:
    """Read and check a clients file; raise :class:`BatchError` on the first problem found."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise BatchError(f"Clients file {path} not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"Clients file {path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise BatchError(f"Clients file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise BatchError(
            f"Clients file {path}: expected a mapping with a 'clients' list, found {_kind(data)}."
        )
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise BatchError(
            f"Clients file {path}: unknown key(s) {', '.join(unknown)}; expected "
            "'clients' and optionally 'notebook' and 'defaults'."
        )
    base = path.resolve().parent
    notebook = _notebook(data.get("notebook"), base, path)
    declared = notebook_parameters(notebook)
    neutral = notebook_defaults(notebook, declared)
    defaults = _parameters(
        data.get("defaults") or {}, declared, base, f"{path}: defaults", notebook
    )
    raw_clients = data.get("clients")
    if not isinstance(raw_clients, list) or not raw_clients:
        raise BatchError(
            f"Clients file {path}: expected 'clients' to be a non-empty list, found {_kind(raw_clients)}."
        )
    clients = []
    for i, raw in enumerate(raw_clients, 1):
        where = f"{path}: client {i}"
        if not isinstance(raw, dict):
            raise BatchError(
                f"{where}: expected a mapping with 'name' and 'parameters', found {_kind(raw)}."
            )
        extra = sorted(set(map(str, raw)) - _CLIENT_KEYS)
        if extra:
            raise BatchError(
                f"{where}: unknown key(s) {', '.join(extra)}; expected 'name', 'slug' and "
                "'parameters' (notebook parameters go under 'parameters')."
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BatchError(f"{where}: expected a non-empty 'name', found {_kind(name)}.")
        slug = raw.get("slug")
        if slug is not None and (not isinstance(slug, str) or not _SLUG_RE.match(slug)):
            raise BatchError(
                f"{where} ({name}): slug {slug!r} is not safe: use 1-48 lower-case letters, digits "
                "and inner hyphens (e.g. 'acme-emea')."
            )
        if slug in _RESERVED:
            raise BatchError(f"{where} ({name}): slug {slug!r} is a reserved device name.")
        # The notebook's (neutral) defaults, the file's defaults, the client's own: nothing else.
        params = {**neutral, **defaults}
        own = raw.get("parameters") or {}
        params.update(_parameters(own, declared, base, f"{where} ({name})", notebook))
        if NAME_PARAMETER in declared and NAME_PARAMETER not in own:
            params[NAME_PARAMETER] = name.strip()
        if EXPORT_PARAMETER in declared and not params.get(EXPORT_PARAMETER):
            raise BatchError(
                f"{where} ({name}): expected {EXPORT_PARAMETER} to name a CRM export, found "
                "nothing; set it under the client's 'parameters'."
            )
        clients.append({"name": name.strip(), "slug": slug, "parameters": params})
    given = [c["slug"] for c in clients]
    dupes = sorted({s for s in given if s and given.count(s) > 1})
    if dupes:
        raise BatchError(
            f"Clients file {path}: slug(s) {', '.join(dupes)} given to several clients."
        )
    for client, slug in zip(
        clients, unique_slugs([c["name"] for c in clients], given), strict=True
    ):
        client["slug"] = slug
    return BatchSpec(path=path, notebook=notebook, parameters=declared, clients=clients)


def _notebook(value: Any, base: Path, path: Path) -> Path:
    if value is None:
        return DEFAULT_NOTEBOOK
    if not isinstance(value, str) or not value.endswith(".ipynb"):
        raise BatchError(
            f"Clients file {path}: expected 'notebook' to be an .ipynb path, found {value!r}."
        )
    return (base / value).resolve()


def _parameters(
    raw: Any, declared: Mapping[str, Parameter], base: Path, where: str, notebook: Path
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BatchError(f"{where}: expected 'parameters' to be a mapping, found {_kind(raw)}.")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise BatchError(
                f"{where}: parameter name {name!r} is not a Python identifier; expected one of "
                f"{_names(declared)}."
            )
        if name not in declared:
            raise BatchError(
                f"{where}: unknown parameter {name!r}; {notebook.name} declares {_names(declared)}."
            )
        typed = typed_value(value, declared[name], where)
        if _is_path(name) and typed:
            typed = str((base / typed).resolve())
        out[name] = typed
    return out


def typed_value(value: Any, parameter: Parameter, where: str = "") -> Any:
    """``value`` converted to the parameter's declared type, or :class:`BatchError`.

    ``str`` accepts text, numbers and dates (as ISO text) and ``null`` (as ``""``); ``list[str]``
    accepts a list of such values or a comma-separated text; ``int``, ``float``, ``bool`` their own.
    """
    kind = parameter.type.replace(" ", "")
    label = f"{where}: parameter {parameter.name!r}"
    if kind == "str":
        return _text(value, label)
    if kind in ("list[str]", "list"):
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [_text(v, label) for v in value]
        if value is None:
            return []
        raise BatchError(f"{label}: expected a list of texts, found {_kind(value)}.")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise BatchError(f"{label}: expected a whole number, found {_kind(value)}.")
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise BatchError(f"{label}: expected a number, found {_kind(value)}.")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise BatchError(f"{label}: expected true or false, found {_kind(value)}.")
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    raise BatchError(
        f"{label}: expected text, a number, a list or a mapping, found {_kind(value)}."
    )


def _text(value: Any, label: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise BatchError(f"{label}: expected text, found {value!r}.")
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise BatchError(f"{label}: expected text, found {_kind(value)}.")


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


def _names(declared: Mapping[str, Parameter]) -> str:
    return ", ".join(declared)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool | int | float):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    return type(value).__name__
