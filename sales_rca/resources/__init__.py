"""The one way to find a file sales-rca ships: notebooks, templates, YAML resources and demo data.

Everything is package data inside ``sales_rca`` (found through :mod:`importlib.resources`), so a
checkout, an editable install and an installed wheel find the same files the same way::

    sales_rca/workshops/*.ipynb          notebook(name), workshops_dir()
    sales_rca/resources/*.yaml           resource(name), read_text(name)
    sales_rca/resources/templates/       template_dir()    (the summary, HTML fragments, stylesheet)
    sales_rca/resources/jupyter/         jupyter_dir()     (JUPYTER_PATH entry: the Voila template)
    sales_rca/resources/demo/            demo_dir(), demo_file(name), demo_clients_file()

These are read only: nothing is ever written here. Outputs (sessions, batch folders) go under the
user's working folder. The package must be installed as files (pip does), not imported from a zip.

Every YAML file, packaged or the user's, is read by :func:`load_yaml` into its pydantic model.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources as _resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from sales_rca.errors import SalesRcaError, problem, validation_message

if TYPE_CHECKING:
    from pydantic import BaseModel

    M = TypeVar("M", bound=BaseModel)

#: The example clients file of ``sales-rca batch`` (three demo clients), in :func:`demo_dir`.
DEMO_CLIENTS_FILE = "clients.example.yaml"


def _root() -> Path:
    root = _resources.files("sales_rca")
    if not isinstance(root, Path):  # e.g. imported from a zip archive
        raise SalesRcaError(
            f"expected sales-rca to be installed as files, found it inside {root}; "
            "install it with pip."
        )
    return root


def _parts(name: str) -> tuple[str, ...]:
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise SalesRcaError(
            f"expected a packaged file name such as 'codebook.yaml', found {name!r}."
        )
    return parts


def packaged(*parts: str) -> Path:
    """A file or folder inside the installed ``sales_rca`` package (it may not exist)."""
    return _root().joinpath(*parts)


def resource(name: str) -> Path:
    """A file of ``sales_rca/resources``, e.g. ``resource("codebook.yaml")``."""
    return packaged("resources", *_parts(name))


def read_text(name: str) -> str:
    """The UTF-8 text of a packaged resource, e.g. ``read_text("fishbone.yaml")``."""
    path = resource(name)
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise SalesRcaError(
            f"expected the packaged resource {name} at {path}, found nothing; reinstall sales-rca."
        ) from None


def workshops_dir() -> Path:
    """The folder of the workshop notebooks (what Voila serves)."""
    return packaged("workshops")


def notebook(name: str) -> Path:
    """A packaged notebook: ``diagnostic.ipynb`` (batch) or ``workshop.ipynb`` (the live app)."""
    return workshops_dir().joinpath(*_parts(name))


def template_dir() -> Path:
    """The folder of sales-rca's templates: ``summary`` (nbconvert), ``html`` (the fragments of
    :mod:`sales_rca.render`) and the one stylesheet ``sales-rca.css``."""
    return packaged("resources", "templates")


def jupyter_dir() -> Path:
    """The folder holding ``voila/templates/sales_rca``: an entry for ``JUPYTER_PATH``."""
    return packaged("resources", "jupyter")


def demo_dir() -> Path:
    """The folder of the synthetic demo data (see its README.md)."""
    return packaged("resources", "demo")


def demo_file(name: str) -> Path:
    """A demo file, e.g. ``demo_file("salesforce_opportunities.csv")`` or
    ``demo_file("clients/hubspot_deals.xlsx")``."""
    return demo_dir().joinpath(*_parts(name))


def demo_clients_file() -> Path:
    """The example clients file: the three demo clients, for ``sales-rca batch``."""
    return demo_file(DEMO_CLIENTS_FILE)


def load_yaml(
    model: type[M],
    path: str | Path | None,
    *,
    default: str = "",
    error: type[SalesRcaError] = SalesRcaError,
    what: str = "YAML file",
    context: Mapping[str, Any] | None = None,
) -> M:
    """The YAML file at ``path`` (else the packaged resource ``default``) validated into ``model``
    (``context`` reaches its validators); a missing, unreadable or invalid file raises ``error``
    with one line ``"FILE: <where>: expected <what>, found <what>"`` (``what`` names the file)."""
    import yaml

    path = resource(default) if path is None else Path(path)
    source = str(path)
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8-sig"))
        data = {} if data is None else data  # an empty file: every key missing
    except FileNotFoundError:
        raise error(problem(source, "", f"a {what}", "nothing at that path")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(problem(source, "", f"a readable {what} (UTF-8 text)", str(exc))) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        why = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(problem(source, "", "valid YAML", f"a syntax error{at} ({why})")) from None
    return validate(model, data, source, error=error, context=context)


def validate(
    model: type[M],
    data: Any,
    source: str = "",
    *,
    error: type[SalesRcaError] = SalesRcaError,
    context: Mapping[str, Any] | None = None,
    where: str = "",
) -> M:
    """``data`` (parsed YAML, or a dict given in code, from ``source``; ``where`` in it) validated
    into ``model``; else ``error`` with the one line of :func:`~sales_rca.errors.validation_message`."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        raise error(validation_message(exc, source, model=model, data=data, where=where)) from None
