"""The graph searches of the checks agree with networkx's on any directed graph, and the step
graph lists the edges out of a step by target."""
from __future__ import annotations

import networkx as nx
from hypothesis import given, strategies as st

from journeylang.digraph import reach, strongly_connected, weakly_connected

from test_graph import graph_of

# directed multigraphs with self-loops: up to 12 nodes, any edges between them
graphs = st.integers(min_value=0, max_value=12).flatmap(lambda size: st.tuples(
    st.just(list(range(size))),
    st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)), max_size=30)
    if size else st.just([])))


def _networkx(nodes, edges) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def _successors(graph: nx.MultiDiGraph):
    return lambda node: list(graph.successors(node))


@given(graphs, st.data())
def test_reach_is_the_roots_and_their_descendants(graph, data):
    nodes, edges = graph
    g = _networkx(nodes, edges)
    roots = data.draw(st.lists(st.sampled_from(nodes), max_size=3) if nodes else st.just([]))
    expected = set(roots).union(*(nx.descendants(g, root) for root in roots))
    assert reach(_successors(g), roots) == expected


@given(graphs)
def test_strongly_connected_components_come_after_the_ones_they_lead_to(graph):
    nodes, edges = graph
    g = _networkx(nodes, edges)
    components = strongly_connected(nodes, _successors(g))
    assert sorted(map(sorted, components)) == sorted(map(sorted, nx.strongly_connected_components(g)))
    position = {node: i for i, component in enumerate(components) for node in component}
    assert all(position[target] <= position[source] for source, target in edges)


@given(graphs, st.data())
def test_weakly_connected_parts_of_a_subgraph(graph, data):
    nodes, edges = graph
    g = _networkx(nodes, edges)
    some = data.draw(st.lists(st.sampled_from(nodes), unique=True) if nodes else st.just([]))
    parts = weakly_connected(some, _successors(g), lambda node: list(g.predecessors(node)))
    expected = nx.weakly_connected_components(g.subgraph(some))
    assert sorted(map(sorted, parts)) == sorted(map(sorted, expected))


def test_a_long_chain_needs_no_recursion():
    size = 20_000
    successors = lambda node: [node + 1] if node + 1 < size else [0]  # noqa: E731  one loop
    assert [len(c) for c in strongly_connected(range(size), successors)] == [size]


def test_the_edges_out_of_a_step_are_listed_by_target_then_as_written():
    result = graph_of('''journey g {
      stage one {
        listen: wait within 1d {
          on replied -> a; on clicked -> b; on opted_out -> a; timeout -> b
        }
        a: exit completed
        b: exit churned
      }
    }''')
    assert [(target, data["label"]) for target, _, data in result.ways_out("listen")] == [
        ("a", "replied"), ("a", "opted_out"), ("b", "clicked"), ("b", "timeout")]
    assert result.successors("listen") == ["a", "b"]
    assert result.predecessors("b") == ["listen"] and result.out_degree("listen") == 4
