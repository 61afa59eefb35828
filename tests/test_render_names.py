"""The names a message text of substitutions reads, built alone, are render_context's."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from journeylang.templates import MessageTemplate, render_context, render_names

NAMES = ["customer", "event", "consent", "journey", "step", "cart", "code", "order", "missing"]
values = st.one_of(st.integers(), st.text(max_size=3), st.dictionaries(
    st.sampled_from(["value", "items", "wecom"]), st.integers(), max_size=2))
objects = st.dictionaries(st.sampled_from(NAMES), values, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True),
       objects, st.one_of(st.none(), objects), objects, objects, st.one_of(st.none(), objects))
def test_the_names_read_have_render_contexts_values(names, customer, event, params, context,
                                                    run_vars):
    business = {**context, **run_vars} if run_vars else context
    whole = render_context(customer, event, params, "j", "s", business=business)
    alone = render_names(names, customer, event, params, "j", "s", context, run_vars)
    assert alone == {name: whole[name] for name in names if name in whole}


def test_a_text_of_substitutions_names_what_it_reads():
    text = MessageTemplate("Hi {{ customer.name }}, {{ cart.items }} for {{ customer.city }}")
    assert text.names == ("customer", "cart")
    assert MessageTemplate("{% if x %}y{% endif %}").names is None
    assert text.render(render_names(text.names, {"name": "李", "city": "上海"}, None, {}, "j",
                                    "s", {"cart": {"items": 2}}, None)) == "Hi 李, 2 for 上海"
