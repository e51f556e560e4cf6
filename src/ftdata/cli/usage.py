"""Usage lines and parse errors as the tools users know write them (`FILE...`, `--max-errors N`, `--to FORMAT`;
"No such option: --lr; did you mean '--learning-rate'?"), for ftdata's and fttrain's typer apps alike."""

from __future__ import annotations

from typing import Any

from typer import core

from ftdata.core.suggest import did_you_mean


def _argument_name(self: Any) -> str:
    """FILE... for a list argument, SOURCE for a single one, in brackets when it may be left out."""
    name = str(self.metavar) if self.metavar else str(self.name).upper()
    if self.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if self.required else f"[{name}]"


def _option_type(self: Any, ctx: Any = None) -> str:
    """An option's value as a word: its metavar, [a|b] for choices, N for numbers, PATH, TEXT."""
    if self.metavar:
        return str(self.metavar)
    desc = self.type_descriptor
    if desc.is_choice:
        return "[" + "|".join(str(c) for c in desc.choices or ()) + "]"
    if desc.is_ranged or desc.annotation is int:
        return "N"
    if desc.annotation is float:
        return "NUM"
    return "PATH" if desc.is_path else "TEXT"


def _parse_args(original: Any) -> Any:
    def parse_args(self: Any, ctx: Any, args: list[str]) -> Any:
        try:
            return original(self, ctx, args)
        except Exception as error:
            if type(error).__name__ == "NoSuchOption":
                names = [o for p in self.get_params(ctx) for o in (*p.opts, *p.secondary_opts) if o.startswith("-")]
                error.message = f"No such option: {error.option_name}" + did_you_mean(error.option_name, names)  # type: ignore[attr-defined]
                error.possibilities = None  # type: ignore[attr-defined]
            raise

    return parse_args


def install() -> None:
    """Patch typer's help and parse errors once (typer >= 0.29 draws its own metavars; older ones use click's,
    which read `metavar=` as given)."""
    if getattr(core, "_ftdata_usage", False):
        return
    setattr(core, "_ftdata_usage", True)
    for cls in (core.TyperCommand, core.TyperGroup):
        setattr(cls, "parse_args", _parse_args(cls.parse_args))
    argument, option = core.TyperArgument, core.TyperOption
    if hasattr(argument, "_usage_display_name") and hasattr(argument, "display_type"):
        setattr(argument, "_usage_display_name", _argument_name)
        setattr(argument, "_rich_display_name", _argument_name)
        setattr(argument, "display_type", lambda self, ctx=None: "")
        setattr(argument, "display_type_rich", lambda self, ctx=None: "")
        setattr(option, "display_type", _option_type)
        setattr(option, "display_type_rich", _option_type)
