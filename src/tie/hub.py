"""Hugging Face hub ids (`GSAI-ML/LLaDA-8B-Instruct`, optionally `@<revision>`) as constituents.

A hub id resolves to its snapshot folder in the local Hugging Face cache through
`huggingface_hub.snapshot_download(..., local_files_only=True)`, so nothing is downloaded while a
run is planned: the snapshot is an ordinary checkpoint directory and loads with our native classes
like any other. An id the cache does not hold fails with one line naming the cache searched and
the command that downloads it, before any model loads.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# owner/name[@revision], the hub's own character set; a leading "." or "/" is a path, not an id
_HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<rev>[\w./-]+))?$")


class HubCacheError(ValueError):
    """A hub id is not in the local Hugging Face cache (or is not a hub id)."""


def is_hub_id(entry: str) -> bool:
    """True for `owner/name` or `owner/name@rev` that is not an existing local path."""
    return bool(_HUB_ID.match(entry)) and not Path(entry).exists()


def split_hub_id(entry: str) -> tuple[str, str | None]:
    """(repo id, revision or None) of `owner/name[@rev]`."""
    m = _HUB_ID.match(entry)
    if m is None:
        raise HubCacheError(f"{entry!r} is not a hub id (expected owner/name or owner/name@rev)")
    return m.group("repo"), m.group("rev")


def hub_cache_dir() -> str:
    """The hub cache this process reads: HF_HUB_CACHE, else $HF_HOME/hub (read now, not at
    import, so a test or a user can point HF_HOME elsewhere after huggingface_hub is imported)."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    return constants.HF_HUB_CACHE


def resolve_hub_id(entry: str) -> Path:
    """The cached snapshot folder of `owner/name[@rev]`; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo_id, revision = split_hub_id(entry)
    cache = hub_cache_dir()
    try:
        path = snapshot_download(repo_id, revision=revision, cache_dir=cache, local_files_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError, OSError) as exc:
        rev = f" --revision {revision}" if revision else ""
        raise HubCacheError(
            f"hub model {entry!r} is not in the Hugging Face cache {cache!r} "
            f"(HF_HOME={os.environ.get('HF_HOME', '<unset>')}): download it once where the hub is "
            f"reachable with `hf download {repo_id}{rev}` (same HF_HOME), or set HF_HOME to a "
            f"cache that holds it ({type(exc).__name__}; as a local checkpoint folder, "
            f"{entry!r} does not exist)"
        ) from exc
    return Path(path)


def hub_model_name(entry: str) -> str:
    """The constituent name of a hub id: the repository's name (`LLaDA-8B-Instruct`)."""
    return split_hub_id(entry)[0].split("/", 1)[1]
