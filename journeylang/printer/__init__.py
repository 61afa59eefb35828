"""Printers: the model back to text, as canonical DSL (``fmt``) or YAML (``convert``)."""
from __future__ import annotations

from .dsl import DslPrinter, print_journey
from .format import FormatError, convert_document, format_text
from .yaml import print_yaml

__all__ = ["DslPrinter", "FormatError", "convert_document", "format_text", "print_journey",
           "print_yaml"]
