"""Safe YAML reading that remembers where every field came from.

Students' files are untrusted, so documents are composed with PyYAML's safe
machinery only (no Python tags), duplicate keys are errors instead of
last-wins, alias bombs are stopped by a node budget, and every field path is
mapped to its line so errors can point at it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nncalc.errors import NncalcError

#: Files larger than this are refused before they are read (parsing is ~100 bytes per
#: node of memory: 8 MiB of numbers is about 1 GB at most).
MAX_FILE_BYTES = 8 * 1024 * 1024
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


def read_text(
    path: str | Path, *, display: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> str:
    """Read a UTF-8 file (a BOM is allowed), turning every OS error into a clean message.

    Only a regular file is read: it is opened without blocking (a FIFO would wait for a
    writer forever) and checked on the open descriptor, so a FIFO, device or socket is
    refused before a byte is read, and its size is checked before reading (``/dev/zero``
    never ends).  Messages name the path and the problem, never the file's bytes.
    """
    shown = display or shown_path(path)
    try:
        raw = (
            _read_stdin(shown, max_bytes)
            if str(path) == STDIN
            else _read_regular(path, shown, max_bytes)
        )
    except FileNotFoundError:
        raise NncalcError("no such file", source=shown) from None
    except PermissionError:
        raise NncalcError("permission denied", source=shown) from None
    except OSError as exc:
        reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
        raise NncalcError(f"cannot read: {reason}", source=shown) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NncalcError(
            f"not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x})", source=shown
        ) from None


#: The path that means standard input (``nncalc solve -``), and how messages name it.
STDIN = "-"
STDIN_NAME = "<stdin>"


def shown_path(path: str | Path) -> str:
    """A path as messages and results name it: standard input as <stdin>."""
    return STDIN_NAME if str(path) == STDIN else str(path)


def _read_stdin(shown: str, max_bytes: int) -> bytes:
    """Standard input, at most ``max_bytes`` (a pipe's size is not known ahead)."""
    import sys

    raw = sys.stdin.buffer.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise NncalcError(f"file too large (limit {max_bytes} bytes)", source=shown)
    return raw


_OS_REASONS = {
    errno.ENAMETOOLONG: "the name is too long",
    errno.ELOOP: "a link that loops",
    errno.EISDIR: "expected a file, found a directory",
}


def _read_regular(path: str | Path, shown: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; an NncalcError otherwise."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise NncalcError("expected a file, found a directory", source=shown)
        if not stat.S_ISREG(status.st_mode):
            raise NncalcError(f"not a regular file ({_kind(status.st_mode)})", source=shown)
        if status.st_size > max_bytes:
            raise NncalcError(
                f"file too large: {status.st_size} bytes (limit {max_bytes})", source=shown
            )
        chunks, total = [], 0
        while chunk := os.read(descriptor, max_bytes + 1 - total):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while being read
                raise NncalcError(f"file too large (limit {max_bytes} bytes)", source=shown)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = [(stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device")]
    kinds.append((stat.S_ISBLK, "a device"))
    return next((word for test, word in kinds if test(mode)), "not a file")


_LOADER: type | None = None
_PLAIN_DECIMAL = re.compile(r"[-+]?[0-9]+\.[0-9]*")


def _loader_class() -> type:
    """libyaml's C loader when present (several times faster), with a quicker resolver.

    PyYAML asks a Python resolver for the tag of every plain scalar, trying a list of
    regular expressions; answers files are mostly numbers like -0.7818 or 2, so those
    two shapes are recognised first (with the same result YAML 1.1 gives) and
    everything else goes to PyYAML's resolver.
    """
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        float_tag, int_tag, scalar = _TAG + "float", _TAG + "int", yaml.ScalarNode

        class Loader(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                if kind is scalar and implicit[0] and value[:1] in _NUMBER_START:
                    if _PLAIN_DECIMAL.fullmatch(value):
                        return float_tag
                    if _PLAIN_INT.fullmatch(value):
                        return int_tag
                return super().resolve(kind, value, implicit)

        _LOADER = Loader
    return _LOADER


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line][column : column + 1] if line < len(lines) else ""


class WrittenNumber(float):
    """A number whose text differs from Python's shortest form of it (``2.3250``,
    ``0.00005``, ``+1.5``): the float, and ``text`` as the file wrote it, so that a
    student's answer can be shown with the digits they wrote (read with ``written=True``)."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, value: float, text: str) -> WrittenNumber:
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle keep the text
        return (WrittenNumber, (float(self), self.text))


def parse_yaml(text: str, source: str, *, written: bool = False) -> Document:
    """Parse one YAML document safely, with duplicate-key, tag and size checks.

    ``written``: a float whose text is not Python's shortest form of it becomes a
    :class:`WrittenNumber` (answers files: the digits a student wrote are shown)."""
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
            elif mark and _char_at(text, mark.line, mark.column) == "\t":
                problem = f"a tab at column {mark.column + 1}; YAML indents with spaces, not tabs"
            raise NncalcError(f"invalid YAML: {problem}", source=source, line=line) from None
        except yaml.YAMLError as exc:  # e.g. a control character (ReaderError)
            problem = getattr(exc, "reason", None) or str(exc).splitlines()[0]
            raise NncalcError(f"invalid YAML: {problem}", source=source) from None
        except RecursionError:
            raise NncalcError(f"nested deeper than {MAX_DEPTH} levels", source=source) from None
        if node is None:
            raise NncalcError("the file is empty", source=source)
        builder = _Builder(loader, source)
        builder.written = written
        try:
            data = builder.build(node, "", 0)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise NncalcError(
                f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                source=source,
                line=mark.line + 1 if mark else None,
            ) from None
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. a timestamp out of range
            raise NncalcError(f"invalid YAML value: {exc}", source=source) from None
    finally:
        loader.dispose()
    return Document(data, source, builder.lines)


_TAG = "tag:yaml.org,2002:"
_STANDARD_TAGS = frozenset(
    _TAG + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "merge")
)
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_NUMBER_START = frozenset("-+0123456789")


class _Builder:
    """Turns the node graph into data in one walk, checking it on the way.

    It records the line of every field, refuses non-standard tags, duplicate keys,
    nesting deeper than MAX_DEPTH and more than MAX_NODES nodes (aliases count each
    time they are used, which stops "billion laughs").  Plain numbers and strings are
    converted directly; anything else (octal, .inf, timestamps, merge keys) goes to
    PyYAML's safe constructor, so the meaning is always PyYAML's.
    """

    def __init__(self, loader: Any, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: dict[str, int] = {}
        self.nodes = 0
        self.written = False  # keep a float's text where it is not its shortest form

    def fail(self, message: str, path: str, node: Any) -> NncalcError:
        line = node.start_mark.line + 1
        return NncalcError(message, source=self.source, path=path or None, line=line)

    def build(self, node: Any, path: str, depth: int) -> Any:
        import yaml

        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NncalcError(
                f"document too large: more than {MAX_NODES} nodes (aliases count each time used)",
                source=self.source,
            )
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels", path, node)
        if node.tag not in _STANDARD_TAGS:
            raise self.fail(f"YAML tag {node.tag!r} is not allowed (only plain data)", path, node)
        if path:
            self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                if isinstance(item, yaml.ScalarNode) and item.tag in _STANDARD_TAGS:
                    self.nodes += 1  # a plain entry of a list: its line is its list's line
                    items.append(self.scalar(item))
                else:
                    items.append(self.build(item, f"{path}[{i}]", depth + 1))
            return items
        return self.mapping(node, path, depth)

    def mapping(self, node: Any, path: str, depth: int) -> Any:
        import yaml

        result: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        merge = False
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merge = True
                self.build(value_node, path, depth + 1)  # checked here, merged below
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("a key must be plain text, not a list or mapping", path, key_node)
            key = self.scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise self.fail(
                    f"duplicate key {key!r} (first on line {seen[key]})", path, key_node
                )
            seen[key] = line
            child = f"{path}.{key}" if path else str(key)
            self.lines.setdefault(child, line)
            result[key] = self.build(value_node, child, depth + 1)
        if merge:  # YAML 1.1 merge keys ("<<"): let PyYAML apply its rules
            return self.construct(node, path)
        return result

    def construct(self, node: Any, path: str = "") -> Any:
        """PyYAML's safe constructor for what the fast path does not handle."""
        try:
            return self.loader.construct_object(node, deep=True)
        except Exception:  # PyYAML raises many kinds for a bad value under an explicit tag
            shown = node.value if isinstance(node.value, str) else "…"
            tag = node.tag.removeprefix(_TAG)
            message = f"invalid value {shown[:40]!r} for the type {tag}"
            raise self.fail(message, path, node) from None

    def scalar(self, node: Any) -> Any:
        tag, value = node.tag, node.value
        if tag == _TAG + "str":
            return value
        if tag == _TAG + "float":
            try:
                number = float(value)
            except ValueError:  # .inf, .nan, 1:30.5 ...
                pass
            else:
                if self.written and repr(number) != value:  # 2.3250, 0.00005, +1.5
                    return WrittenNumber(number, value)
                return number
        elif tag == _TAG + "int" and _PLAIN_INT.fullmatch(value):
            return int(value)
        elif tag == _TAG + "null":
            return None
        return self.construct(node)


def load_yaml_file(
    path: str | Path,
    *,
    display: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    written: bool = False,
) -> Document:
    """Read and parse a YAML file; every failure is an :class:`NncalcError`.
    (``written``: see :func:`parse_yaml`.)"""
    shown = display or shown_path(path)
    text = read_text(path, display=shown, max_bytes=max_bytes)
    return parse_yaml(text, shown, written=written)
