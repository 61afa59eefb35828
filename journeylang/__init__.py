"""journeylang: customer journeys as code: parse, check, simulate, compile."""

__version__ = "0.1.0"
