"""The one YAML loader for every YAML ftdata and fttrain read (v1 dataset YAMLs, trl mixtures, axolotl configs,
fttrain run configs): PyYAML's safe loader with nesting and alias expansion bounded.

PyYAML composes nested collections by recursion (50,000 nested `[` end in RecursionError) and lets aliases share a
node, so a 1 kB "billion laughs" document loads in no time and explodes in whatever walks it later. Here the
composer counts: a collection nested deeper than MAX_DEPTH, or a document whose nodes, each alias counted as the
node it stands for, exceed MAX_NODES, is a `YamlError` with its line, before either can cost time or memory. No
descriptor or run config comes near either bound.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 100  # nested collections
MAX_NODES = 200_000  # nodes of the document with every alias expanded


class YamlError(ValueError):
    """A YAML text that cannot be read, or exceeds a bound: the message says what and where (line, column)."""


def load_yaml_text(text: str) -> Any:
    """The document in `text` (None when empty); YamlError with a one-line reason."""
    import yaml

    loader = _loader_class()(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise YamlError(f"not valid YAML{where}: {getattr(err, 'problem', None) or str(err).splitlines()[0]}") from None
    except RecursionError:  # not reached through the composer's bound; kept so no input ends in a traceback
        raise YamlError(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()


_LOADER: Any = None


def _loader_class() -> Any:
    """SafeLoader with a composer that bounds depth and expanded size (built once, on first use: PyYAML is
    optional)."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class Bounded(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.depth = 0
            self.sizes: dict[int, int] = {}  # id(node) -> its node count with aliases expanded

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                return super().compose_node(parent, index)  # sized by the collection that holds it
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise YamlError(f"nested too deeply (more than {MAX_DEPTH} levels, line {mark.line + 1})")
            try:
                node = super().compose_node(parent, index)
            finally:
                self.depth -= 1
            self.sizes[id(node)] = size = 1 + sum(self.sizes.get(id(c), 1) for c in _children(node))
            if size > MAX_NODES:
                raise YamlError(f"too large once its aliases are expanded (over {MAX_NODES:,} values, line "
                                f"{mark.line + 1}); write the values out, or use fewer aliases")
            return node

    _LOADER = Bounded
    return Bounded


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []
    return [part for item in value for part in (item if isinstance(item, tuple) else (item,))]
