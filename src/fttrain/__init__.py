"""fttrain: SFT / DPO / KTO over trl + peft, fed by ftdata's canonical records."""

__version__ = "0.1.0"
