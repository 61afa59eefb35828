"""Message templates' sandbox: Jinja2's SandboxedEnvironment, with resource limits.

Every template is parsed, compiled and rendered here: by the checker, the compiler, ``journey
preview`` and the runtime. A render runs under a budget (docs/language.md, "19. Limits"): at
most MAX_OUTPUT_CHARS of output, no text or list built on the way longer than that, at most
MAX_LOOP_ITERATIONS loop iterations and MAX_RENDER_SECONDS. Jinja2's sandbox hooks carry the
checks: intercepted operators (``call_binop``), every call (``call``), the filters, and two
rewrites of the compiled template: each ``for`` loop's iterable and each ``~`` go through a
checked function.
"""
from __future__ import annotations

import math
import re
import string
import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache, wraps
from itertools import islice

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.exceptions import TemplateError, UndefinedError
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from .limits import MAX_LOOP_ITERATIONS, MAX_OUTPUT_CHARS, MAX_RENDER_SECONDS

MAX_INTEGER_BITS = 4096  # integers a template computes: about 1,233 digits
_SEQUENCES = (str, list, tuple, bytes)
_SPEC_NUMBER = re.compile(r"\d+")
# a printf conversion: its width and precision (a number or '*')
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_LOOP, _CONCAT = "_limited_loop", "_limited_concat"  # filters the rewrites call


class LimitError(TemplateError):
    """A template went past a resource limit while rendering."""


class RenderError(Exception):
    """A template that cannot be rendered with these values: ``message`` says why, ``line`` is
    the template's line when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line


# --- the budget of one render -------------------------------------------------------------------

class _Budget:
    __slots__ = ("deadline", "loops")

    def __init__(self):
        self.deadline = time.perf_counter() + MAX_RENDER_SECONDS
        self.loops = MAX_LOOP_ITERATIONS

    def tick(self) -> None:
        if time.perf_counter() > self.deadline:
            raise LimitError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")

    def loop(self) -> None:
        self.loops -= 1
        if self.loops < 0:
            raise LimitError(f"more than {MAX_LOOP_ITERATIONS:,} loop iterations")
        if not self.loops % 64:
            self.tick()


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.tick()


def _too_long(length: float, what: str = "a text or list") -> None:
    if length > MAX_OUTPUT_CHARS:
        raise LimitError(f"{what} of more than {MAX_OUTPUT_CHARS:,} characters or items")


def _listed(value):
    """An iterator (``map``, ``select``, a generator) as a list, so that what a call or a filter
    does with it can be measured first; past MAX_OUTPUT_CHARS items, a LimitError."""
    if not isinstance(value, Iterator) or isinstance(value, LoopContext):
        return value
    items = list(islice(value, MAX_OUTPUT_CHARS + 1))
    _too_long(len(items))
    return items


def _sized(value):
    """``value``, after checking that a text or list is within MAX_OUTPUT_CHARS."""
    if isinstance(value, _SEQUENCES):
        _too_long(len(value))
    elif isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
        raise LimitError(f"a number of more than {MAX_INTEGER_BITS:,} bits")
    return value


def weight(value, budget: int = MAX_OUTPUT_CHARS) -> int:
    """About how many characters ``str(value)`` has, counted until past ``budget``."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, Record):
            stack.append(item._data)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += 1 + item.bit_length() // 3
        else:
            total += 8
    return total


# --- operators, calls and filters ---------------------------------------------------------------

def check_binop(operator: str, left, right) -> None:
    """Refuse an operation whose result would be too large, before it is computed."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int):
                _too_long(len(seq) * times)
        if _whole(left) and _whole(right):
            _bits(left.bit_length() + right.bit_length())
    elif operator == "**" and _whole(left) and _whole(right) and abs(left) > 1:
        _bits(right * left.bit_length())
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _too_long(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        format_spec(left, right if isinstance(right, tuple) else (right,), printf=True)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bits(bits: int) -> None:
    if bits > MAX_INTEGER_BITS:
        raise LimitError(f"a number of more than {MAX_INTEGER_BITS:,} bits")


def format_spec(fmt: str, args=(), kwargs=None, printf: bool = False) -> None:
    """The widths and precisions of a format string (``%1000000d``, ``{:>1000000}``), and the
    numbers a ``*`` or a nested ``{}`` takes from the arguments, within MAX_OUTPUT_CHARS."""
    if printf:
        specs = [part for match in _PRINTF.finditer(fmt) for part in match.groups() if part]
    else:
        try:
            specs = [spec for _, _, spec, _ in string.Formatter().parse(fmt) if spec]
        except ValueError:
            return  # not a format string: formatting it fails on its own
    numbers = [n for spec in specs for n in _SPEC_NUMBER.findall(spec)]
    widest = max((int(n) if len(n) < 12 else math.inf for n in numbers), default=0)
    if any("*" in spec or "{" in spec for spec in specs):
        given = [*args, *(kwargs or {}).values()]
        widest = max([widest, *(a for a in given if _whole(a))])
    _too_long(widest, "a formatted field")


def _check_call(function, args: tuple, kwargs: dict) -> None:
    """Refuse a call of a builtin method whose result would be too large (``'x'.ljust(10**9)``,
    ``s.replace('', s)``, ``sep.join(items)``)."""
    wrapped = getattr(function, "__wrapped__", None)  # the sandbox's str.format wrapper
    if wrapped is not None and isinstance(getattr(wrapped, "__self__", None), str):
        format_spec(wrapped.__self__, args, kwargs)
    else:
        check_method(getattr(function, "__self__", None), getattr(function, "__name__", ""),
                     args, kwargs)


def check_method(owner, name: str, args, kwargs: dict) -> None:
    """Refuse ``owner.name(*args, **kwargs)`` when its result would be too large."""
    if isinstance(owner, (str, bytes)):
        _string_method(owner, name, args, kwargs)
    elif isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if _whole(length):
            _too_long(length)
    elif isinstance(owner, list) and name in ("extend", "__iadd__") and args \
            and hasattr(args[0], "__len__"):
        _too_long(len(owner) + len(args[0]))


def _string_method(text, name: str, args: tuple, kwargs: dict) -> None:
    if name in ("center", "ljust", "rjust", "zfill") and args and _whole(args[0]):
        _too_long(args[0])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        _too_long(len(text) + text.count("\t") * (size if _whole(size) else 8))
    elif name == "replace" and len(args) >= 2:
        _too_long(replaced_length(text, args[0], args[1], args[2] if len(args) > 2 else -1))
    elif name == "join" and args:
        _too_long(joined_length(text, args[0]))
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        _too_long(len(text) * max(longest, 1))


def replaced_length(text, old, new, count=-1) -> float:
    if not isinstance(text, (str, bytes)) or not isinstance(new, type(text)) \
            or not isinstance(old, type(text)):
        return 0
    found = len(text) + 1 if not old else text.count(old)
    if _whole(count) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def joined_length(separator, items) -> float:
    if not hasattr(items, "__len__"):
        return 0
    return len(separator) * max(len(items) - 1, 0) + weight(list(items))


@cache
def _filter_checks() -> dict:
    """Filter name -> a check of (value, args, kwargs) before the filter runs."""
    def width(position: int, key: str):
        def check(value, args, kwargs):
            amount = args[position] if len(args) > position else kwargs.get(key)
            if _whole(amount):
                _too_long(amount)
        return check

    def indent(value, args, kwargs):
        amount = args[0] if args else kwargs.get("width", 4)
        size = amount if _whole(amount) else len(amount) if isinstance(amount, str) else 0
        if isinstance(value, str):
            _too_long(len(value) + (value.count("\n") + 1) * size)

    def replace(value, args, kwargs):
        if len(args) >= 2:
            _too_long(replaced_length(str(value), args[0], args[1],
                                      args[2] if len(args) > 2 else kwargs.get("count", -1)))

    def join(value, args, kwargs):
        separator = args[0] if args else kwargs.get("d", "")
        if isinstance(separator, str) and hasattr(value, "__len__"):
            _too_long(joined_length(separator, value))

    def wordwrap(value, args, kwargs):
        size = args[0] if args else kwargs.get("width", 79)
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
        if isinstance(value, str) and _whole(size) and size > 0 and isinstance(wrap, str):
            _too_long(len(value) + (len(value) // size + 1) * len(wrap))

    def formatted(value, args, kwargs):
        if isinstance(value, str):
            format_spec(value, args, kwargs, printf=True)

    def tojson(value, args, kwargs):
        amount = args[0] if args else kwargs.get("indent")
        _too_long(weight(value) * (1 + (amount if _whole(amount) and amount > 0 else 0)))

    def whole_value(value, args, kwargs):
        _too_long(weight(value))

    return {"center": width(0, "width"), "batch": width(0, "linecount"),
            "slice": width(0, "slices"), "truncate": width(0, "length"), "indent": indent,
            "replace": replace, "join": join, "wordwrap": wordwrap, "format": formatted,
            "tojson": tojson, "string": whole_value, "pprint": whole_value,
            "list": whole_value}


def check_filter(name: str, value, args, kwargs: dict) -> None:
    """Refuse ``value|name(*args, **kwargs)`` when its result would be too large."""
    check = _filter_checks().get(name)
    if check is not None:
        check(value, tuple(args), kwargs)


def _limited(name: str, function):
    """A filter that ticks the budget, checks its arguments and sizes its result."""
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @wraps(function)
    def limited(*args, **kwargs):
        _tick()
        if len(args) > skip:
            args = (*args[:skip], *map(_listed, args[skip:]))
            check_filter(name, args[skip], args[skip + 1:], kwargs)
        return _sized(function(*args, **kwargs))
    return limited


@pass_context
def _limited_loop(context, iterable):
    """A ``for`` loop's iterable: every item counts against the loop budget."""
    budget = _budget.get()
    for item in iterable:
        if budget is not None:
            budget.loop()
        yield item


@pass_context
def _limited_concat(context, parts):
    """``a ~ b``: the joined text, refused before it is built when too long."""
    _too_long(sum(weight(part) for part in parts))
    return "".join(map(str, parts))


class LimitedEnvironment(SandboxedEnvironment):
    """The sandbox, with every render under a budget (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _limited(name, function) for name, function in self.filters.items()}
        self.filters[_LOOP], self.filters[_CONCAT] = _limited_loop, _limited_concat

    def call_binop(self, context, operator, left, right):
        _tick()
        check_binop(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        _tick()
        args = tuple(map(_listed, args))
        _check_call(__obj, args, kwargs)
        result = SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (list, dict, set)):  # a method that grows its own container
            _too_long(len(owner))
        return _sized(result)

    def _generate(self, source, name, filename, defer_init=False):
        source = _Rewrite().visit(source)
        source.set_environment(self)
        return super()._generate(source, name, filename, defer_init)


class _Rewrite(NodeTransformer):
    """Each loop's iterable and each ``~`` go through the checked filters."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        node = self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), _CONCAT, [], [], None,
                            None, lineno=node.lineno)


# --- rendering ------------------------------------------------------------------------------------

@cache
def environment() -> LimitedEnvironment:
    """The one sandbox every template is parsed and rendered in (runtime included)."""
    return LimitedEnvironment(undefined=StrictUndefined, autoescape=False,
                              keep_trailing_newline=False)


def compile_template(text: str):
    """A compiled template; RenderError for a text that is not a valid template."""
    try:
        return environment().from_string(text)
    except RecursionError:
        raise RenderError("the template nests too deeply") from None
    except Exception as exc:  # a syntax error, or anything else: the message's, not the caller's
        raise RenderError(_message(exc), getattr(exc, "lineno", None)) from None


def render(template, context: dict) -> str:
    """Render a compiled template under the budget; RenderError says why it failed."""
    token = _budget.set(_Budget())
    try:
        out, length = [], 0
        for chunk in template.generate({key: wrap(value) for key, value in context.items()}):
            length += len(chunk)
            _too_long(length, "a message")
            out.append(chunk)
        return "".join(out)
    except Exception as exc:  # the message fails; the caller goes on (never the runtime's error)
        raise RenderError(_message(exc), _template_line(exc)) from None
    finally:
        _budget.reset(token)


def _message(exc: BaseException) -> str:
    if isinstance(exc, LimitError):
        text = f"over a template limit: {exc.message}"
    elif isinstance(exc, UndefinedError):
        text = str(exc.message)
    elif isinstance(exc, TemplateError):
        text = exc.message or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:300] + "..."


def _template_line(exc: BaseException) -> int | None:
    """The template line the error was raised at (Jinja rewrites tracebacks to it)."""
    line, trace = None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


# --- what templates see ---------------------------------------------------------------------------

class Record:
    """A JSON object as templates see it: ``{{ cart.items }}`` is the key, never ``dict.items``."""

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        self._data = data

    def __getattr__(self, name: str):
        try:
            return wrap(self._data[name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return wrap(self._data[name])

    def __contains__(self, name) -> bool:
        return name in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __str__(self) -> str:
        return str(self._data)


Record.__module__ = "builtins"  # errors read "'Record object' has no attribute 'name'"


def wrap(value):
    """JSON data as templates see it: objects as Records, lists item by item."""
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value
