"""The configuration keys a Helm chart documents, from its ``values.schema.yaml``; and a matcher.

::

    python hub/k8s/chart_keys.py schema values.schema.yaml   # a chart with a JSON schema (Z2JH)
    python hub/k8s/chart_keys.py values values.yaml          # a chart without one (ngshare)

A key path is written with dots (``singleuser.memory.limit``). In the list a segment may be
``*`` (any name: a map whose entries the schema describes, e.g. ``hub.services.*.url``) and a
path may end in ``.**`` (everything below is passed through unchecked by the chart, e.g. the
traitlets configuration under ``hub.config.JupyterHub.**``).

Derivation: every ``properties`` entry is a documented key; ``patternProperties`` and a schema in
``additionalProperties`` stand for ``*``; an object with ``additionalProperties: true``, or with
neither ``properties`` nor ``additionalProperties: false``, is passed through (``**``). An object
that lists ``properties`` allows only those (stricter than JSON schema's default, on purpose: a
key the chart does not document is a typo or an undocumented feature). Lists are not entered.

A chart without a schema documents its keys in its ``values.yaml``: every key there is
documented; a map whose default is empty (``{}``) is passed through (``**``).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["derive", "derive_from_values", "read_keys", "undocumented"]


def derive(schema: dict, prefix: str = "") -> list[str]:
    """Every documented key path of ``schema`` (a JSON schema as a dict), in schema order."""
    out: list[str] = []
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    patterns = schema.get("patternProperties") or {}
    for name, sub in props.items():
        path = f"{prefix}{name}"
        out.append(path)
        out.extend(derive(sub or {}, path + "."))
    for sub in [*patterns.values(), *([extra] if isinstance(extra, dict) else [])]:
        out.append(prefix + "*")
        out.extend(derive(sub or {}, prefix + "*."))
    is_object = "object" in (
        schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    )
    if prefix and (extra is True or (is_object and not props and not patterns and extra is None)):
        out.append(prefix + "**")
    return list(dict.fromkeys(out))


def derive_from_values(values: dict, prefix: str = "") -> list[str]:
    """Every key path of a chart's default ``values`` (a dict); empty maps are passed through."""
    out: list[str] = []
    for name, sub in values.items():
        path = f"{prefix}{name}"
        out.append(path)
        if isinstance(sub, dict):
            out.extend(derive_from_values(sub, path + ".") if sub else [path + ".**"])
    return out


def read_keys(path: Path) -> list[str]:
    """The key paths of a list written by this script (``#`` starts a comment)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _matches(path: list[str], pattern: list[str]) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(path) > len(head) and _matches(path[: len(head)], head)
    return len(path) == len(pattern) and all(p in ("*", s) for s, p in zip(path, pattern))


def _paths(values, prefix: tuple[str, ...] = ()):
    if isinstance(values, dict):
        for key, sub in values.items():
            path = (*prefix, str(key))
            yield path
            yield from _paths(sub, path)


def undocumented(values: dict, keys: list[str]) -> list[str]:
    """Key paths of ``values`` (a Helm values dict) that no entry of ``keys`` allows."""
    patterns = [k.split(".") for k in keys]
    bad = []
    for path in _paths(values):
        if not any(_matches(list(path), p) for p in patterns):
            bad.append(".".join(path))
    return bad


def main(argv: list[str]) -> int:
    import yaml

    if len(argv) != 2 or argv[0] not in ("schema", "values"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    document = yaml.safe_load(Path(argv[1]).read_text(encoding="utf-8"))
    print("\n".join(derive(document) if argv[0] == "schema" else derive_from_values(document)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
