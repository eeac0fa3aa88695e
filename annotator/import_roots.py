"""MESTUDIO_IMPORT_ROOTS: the server folders that imports, and the preprocessing of the clips
they made, may read. Imports read folders on the server, so the roots keep an admin account (or
its API token) from making the workers read arbitrary files. Unset, nothing is confined."""

from pathlib import Path

from django.conf import settings

from annotator.errors import InvalidRequestError
from mlcore.datasets.common import inside_root


def _root_holding(path: Path) -> Path | None:
    for root in settings.DATASET_IMPORT_ROOTS:
        resolved = Path(root).resolve()
        if inside_root(path, root=resolved):
            return resolved
    return None


def import_path_check(*, path: Path) -> None:
    """`path` (symlinks resolved) lies inside a root, or ApplicationError; checked before anything
    looks at the path, so the refusal does not tell whether it exists."""
    roots = settings.DATASET_IMPORT_ROOTS
    if roots and _root_holding(path) is None:
        raise InvalidRequestError(
            f"{path} is outside the folders imports may read ({', '.join(roots)})."
        )


def import_folder_check(*, folder: Path) -> None:
    """A clip's frame folder and every file in it, links resolved, lie inside one root: what
    preprocessing checks before it reads a folder an import stored (perhaps before the roots
    were set or narrowed, or with a frame swapped for a link since)."""
    if not settings.DATASET_IMPORT_ROOTS:
        return
    import_path_check(path=folder)
    root = _root_holding(folder)
    for file in folder.iterdir():
        if not inside_root(file, root=root):
            raise InvalidRequestError(
                f"Frame file {file.name} of {folder.name} links outside the folders imports may "
                "read."
            )
