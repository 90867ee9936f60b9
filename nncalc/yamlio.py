"""Safe YAML reading that remembers where every field came from.

Students' files are untrusted, so documents are composed with PyYAML's safe
machinery only (no Python tags), duplicate keys are errors instead of
last-wins, alias bombs are stopped by a node budget, and every field path is
mapped to its line so errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nncalc.errors import NncalcError

#: Files larger than this are refused before they are read.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Composed nodes, counting every alias expansion; stops "billion laughs".
MAX_NODES = 1_000_000
#: Nesting depth of mappings and sequences.
MAX_DEPTH = 64


@dataclass
class Document:
    """A loaded YAML document and the line (1-based) of each field path."""

    data: Any
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, path: str) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    def error(self, path: str, message: str) -> NncalcError:
        return NncalcError(message, source=self.source, path=path or None, line=self.line(path))


def read_text(path: str | Path, *, display: str | None = None) -> str:
    """Read a UTF-8 file (a BOM is allowed), turning every OS error into a clean message."""
    shown = display or str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise NncalcError("expected a file, found a directory", source=shown)
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise NncalcError(
                f"file too large: {size} bytes (limit {MAX_FILE_BYTES})", source=shown
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NncalcError("no such file", source=shown) from None
    except PermissionError:
        raise NncalcError("permission denied", source=shown) from None
    except OSError as exc:
        raise NncalcError(f"cannot read: {exc.strerror or exc}", source=shown) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NncalcError(
            f"not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x})", source=shown
        ) from None


def _loader_class() -> type:
    import yaml

    # libyaml's C loader is several times faster; both are "safe".
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, source: str) -> Document:
    """Parse one YAML document safely, with duplicate-key, tag and size checks."""
    import yaml

    loader = _loader_class()(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            problem = exc.problem or exc.context or "invalid YAML"
            if "expected a single document" in str(exc):
                problem = "expected a single YAML document, found several"
            raise NncalcError(f"invalid YAML: {problem}", source=source, line=line) from None
        except yaml.YAMLError as exc:
            raise NncalcError(f"invalid YAML: {exc}", source=source) from None
        except RecursionError:
            raise NncalcError(f"nested deeper than {MAX_DEPTH} levels", source=source) from None
        if node is None:
            raise NncalcError("the file is empty", source=source)
        lines: dict[str, int] = {}
        _check_nodes(node, "", lines, source, [0], 0)
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise NncalcError(
                f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                source=source,
                line=mark.line + 1 if mark else None,
            ) from None
        except (ValueError, OverflowError) as exc:  # e.g. a timestamp out of range
            raise NncalcError(f"invalid YAML value: {exc}", source=source) from None
    finally:
        loader.dispose()
    return Document(data, source, lines)


_STANDARD_TAGS = frozenset(
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "merge")
)


def _check_nodes(
    node: Any, path: str, lines: dict[str, int], source: str, budget: list[int], depth: int
) -> None:
    """Walk the node graph: record lines, refuse odd tags, duplicates and bombs."""
    import yaml

    budget[0] += 1
    if budget[0] > MAX_NODES:
        raise NncalcError(
            f"document too large: more than {MAX_NODES} nodes (aliases count each time used)",
            source=source,
        )
    if depth > MAX_DEPTH:
        raise NncalcError(
            f"nested deeper than {MAX_DEPTH} levels",
            source=source,
            path=path or None,
            line=node.start_mark.line + 1,
        )
    if node.tag not in _STANDARD_TAGS:
        raise NncalcError(
            f"YAML tag {node.tag!r} is not allowed (only plain data)",
            source=source,
            path=path or None,
            line=node.start_mark.line + 1,
        )
    if path:
        lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise NncalcError(
                    f"duplicate key {key!r} (first on line {seen[key]})",
                    source=source,
                    path=path or None,
                    line=line,
                )
            seen[key] = line
            child = f"{path}.{key}" if path else str(key)
            lines.setdefault(child, line)
            _check_nodes(value_node, child, lines, source, budget, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            if isinstance(item, yaml.ScalarNode) and item.tag in _STANDARD_TAGS:
                budget[0] += 1  # a plain entry of a list: its line is its list's line
                continue
            _check_nodes(item, f"{path}[{i}]", lines, source, budget, depth + 1)


def load_yaml_file(path: str | Path, *, display: str | None = None) -> Document:
    """Read and parse a YAML file; every failure is an :class:`NncalcError`."""
    shown = display or str(path)
    return parse_yaml(read_text(path, display=shown), shown)
