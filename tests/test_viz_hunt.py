"""Drawings a teacher puts on slides, and the bugs they turned up in ``autodiff.viz``.

Each section names the bug it guards against. Graphs are also fed to the real
``dot`` program when it is installed, so a label dot would refuse fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff import viz
from autodiff.diagnostics import GraphGrowthWarning, growth
from autodiff.viz import health
from nn.viz import plot_model

HAS_DOT = shutil.which("dot") is not None
VIEWS = (viz.forward_graph, viz.backward_graph, viz.combined_graph)
# characters XML 1.0 (and so a Graphviz HTML label) does not allow
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_dot(dot) -> None:
    """The source is valid XML in its labels and, when dot is installed, dot accepts it."""
    assert not XML_INVALID.search(dot.source)
    if HAS_DOT:
        proc = subprocess.run(["dot", "-Tsvg"], input=dot.source.encode(), capture_output=True)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr.decode()


def edge_label(source: str, src: str, dst: str) -> str:
    m = re.search(rf"^\t{src} -> {dst} \[.*label=<(.*)>\]$", source, re.M)
    assert m, (src, dst)
    return m.group(1)


def node_label(source: str, key: str) -> str:
    m = re.search(rf"^\t{key} \[.*?label=<(.*)>\]$", source, re.M)
    assert m, key
    return m.group(1)


def apple_bill(dtype=np.float64):
    values = [100.0, 2.0, 150.0, 3.0, 1.1]
    names = ["apple price", "apple count", "orange price", "orange count", "tax"]
    xs = [
        ad.Tensor(np.array(v, dtype=dtype), requires_grad=True, name=n)
        for n, v in zip(names, values)
    ]
    price, count, oprice, ocount, tax = xs
    total = (price * count + oprice * ocount) * tax
    total.name = "total"
    return total, xs


# ------------------------------------------------------------------ the graph-growth monitor
def test_drawings_do_not_feed_the_graph_growth_monitor():
    # A teacher draws the unrolled graph after each step; no backward() is ever called.
    # The drawings' own backward passes used to reach the monitor, which warned about
    # "backward() calls" that never happened (and then kept quiet about a real leak).
    w = ad.tensor(np.eye(2) * 0.5, requires_grad=True, name="w")
    h = ad.tensor(np.ones((1, 2)), name="h0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(growth.window + 3):
            h = ad.tanh(h @ w)
            loss = h.sum()
            viz.backward_graph(loss)  # one drawing per step: each sets a new size record
    assert not [c for c in caught if issubclass(c.category, GraphGrowthWarning)]
    assert growth.enabled  # switched back on


# ------------------------------------------------------------------ label escaping
@pytest.mark.parametrize(
    "name",
    [
        "\x1b[31mred\x1b[0m",
        "nul\x00byte",
        "form\x0cfeed",
        "x\ufffe",
        "bad\udcffbyte",
        "line\nbreak",
    ],
)
def test_names_with_control_characters_render_in_every_view(name):
    # XML forbids control characters, so one ANSI-coloured name made dot refuse the whole
    # graph ("not well-formed (invalid token)"); a NUL was a DOT syntax error.
    x = ad.tensor(np.float64(2.0), requires_grad=True, name=name)
    with ad.name_scope(name):
        y = x * x
    y.name = name
    for view in VIEWS:
        for depth in (None, 1):
            check_dot(view(y, depth=depth, title=name))
    for frame in viz.backward_frames(y):
        check_dot(frame)
    if name == "line\nbreak":  # a newline a teacher types into a name is a line break
        assert "<B>line<BR/>break</B>" in viz.forward_graph(y).source


def test_quotes_brackets_backslashes_and_html_in_names_are_escaped():
    awkward = ['say "hi"', "<b>not bold</b>", "C:\\temp\\", "a & b", "&amp;", "λ∂ü", "]"]
    xs = [ad.tensor(np.float64(i + 1), requires_grad=True, name=n) for i, n in enumerate(awkward)]
    y = xs[0]
    for x in xs[1:]:
        y = y * x
    for view in VIEWS:
        dot = view(y, title='"<&>"')
        check_dot(dot)
    src = viz.forward_graph(y).source
    assert "<B>&lt;b&gt;not bold&lt;/b&gt;</B>" in src and "<B>&amp;amp;</B>" in src


# ------------------------------------------------------------------ gradient health
def test_health_scale_draws_a_norm_of_one_pale_yellow():
    # The palette is blue -> pale yellow -> red, the docs say pale yellow means about 1.
    # A single log scale over the default (1e-6, 1e2) put its middle at 1e-2, so a
    # healthy gradient of norm 1 came out orange, on the "exploding" side of the legend.
    middle = len(health.PALETTE) // 2
    assert health.norm_color(1.0) == (health.PALETTE[middle], "black")
    lo, hi = viz.Options().health_range
    assert health.norm_color(lo)[0] == health.PALETTE[0]
    assert health.norm_color(hi)[0] == health.PALETTE[-1]
    assert health.norm_color(2.0)[0] != health.PALETTE[middle + 3]  # not far into the reds
    cells = re.findall(r'POINT-SIZE="9">([^<]*)<', health.health_legend(lo, hi))
    assert cells[0] == "1e-06" and cells[middle] == "1" and cells[-1] == "1e+02"
    # a range without 1 in it stays one log scale
    assert health.norm_color(1e-2, 1e-4, 1.0)[0] == health.PALETTE[middle]
    # in a drawing: y = sum(x) gives x a gradient of ones, norm 1 for one element
    x = ad.tensor([3.0], requires_grad=True, name="x")
    dot = viz.forward_graph(ad.sum(x), health=True)
    assert f'fillcolor="{health.PALETTE[middle]}"' in node_line(dot.source, "x")


def node_line(source: str, name: str) -> str:
    return next(line for line in source.splitlines() if f"<B>{name}</B>" in line)


def test_health_uses_the_bad_colour_the_user_chose():
    x = ad.tensor([0.0, 1.0], requires_grad=True, name="x")
    with np.errstate(all="ignore"):
        y = ad.sum(ad.sqrt(x))
        dot = viz.forward_graph(y, health=True, colors={"bad": "#123456"})
    assert 'fillcolor="#123456"' in node_line(dot.source, "x")
    check_dot(dot)


# ------------------------------------------------------------------ what leaves show
def test_backward_view_leaf_shows_the_gradient_of_the_drawn_pass():
    # y = x**3 at 3: backward(create_graph=True) leaves x.grad = 27 with a graph. Its
    # backward view computes d(27)/dx = 18: the leaf used to read "grad 27" (its .grad)
    # under an edge that carries 18.
    x = ad.tensor(3.0, requires_grad=True, name="x")
    (x**3).backward(create_graph=True)
    src = viz.backward_graph(x.grad, show_shapes=False).source
    leaf = next(k for k in re.findall(r"^\t(l\d+) \[", src, re.M))
    label = node_label(src, leaf)
    assert "grad 18<" in label and ".grad 27<" in label
    incoming = re.findall(rf"^\ts\d+ -> {leaf} \[.*label=<(.*)>\]$", src, re.M)
    assert sum(float(t) for t in incoming) == pytest.approx(18.0)


def test_backward_view_after_accumulating_backward_calls():
    total, xs = apple_bill()
    total.backward(retain_graph=True)
    total.backward(retain_graph=True)  # .grad now holds twice the gradient
    src = viz.backward_graph(total, show_shapes=False).source
    label = node_label(src, "l1")  # the apple price
    assert "<B>apple price</B>" in label
    assert "grad 2.2<" in label and ".grad 4.4<" in label
    # a leaf whose .grad agrees with the pass shows the gradient once
    for x in xs:
        x.zero_grad()
    total.backward(retain_graph=True)
    assert ".grad" not in viz.backward_graph(total).source


# ------------------------------------------------------------------ several outputs
def test_an_output_that_feeds_another_output_shows_its_own_seed():
    # outputs (s, m) with s = 5 m: backward seeds both with 1, and m's creator receives
    # 1 + 5 = 6. The seed node of m and its edge read 6 (the total), so the two edges
    # into m's step summed to 11 while x's gradient is 12 = 2 * 6.
    x = ad.tensor(3.0, requires_grad=True, name="x")
    m = x * 2
    m.name = "m"
    s = m * 5
    s.name = "s"
    (expected,) = ad.grad([s, m], [x], retain_graph=True)
    src = viz.backward_graph(s, m, show_shapes=False).source
    assert "grad 1<" in node_label(src, "r1") and edge_label(src, "r1", "s1") == "1"
    assert float(edge_label(src, "r1", "s1")) + float(edge_label(src, "s0", "s1")) == 6.0
    assert float(edge_label(src, "s1", "l0")) == float(expected.data) == 12.0
    combined = viz.combined_graph(s, m).source
    assert edge_label(combined, "f0", "out1").endswith('<FONT COLOR="#c0392b">1</FONT>')
    rec = viz.record(s, m)
    assert float(rec.seed_of(m)) == 1.0 and float(rec.grad_of(m)) == 6.0
    with ad.record_backward() as steps:  # drawing a backward the user ran and recorded
        ad.engine.backward([s, m])
    replay = viz.backward_graph(s, m, steps=steps, show_shapes=False).source
    assert edge_label(replay, "r1", "s1") == "1"


# ------------------------------------------------------------------ rendering errors
def test_rendering_refuses_what_is_not_one_graph_with_a_clear_error(tmp_path):
    x = ad.tensor(2.0, requires_grad=True)
    frames = viz.backward_frames(x * x)
    with pytest.raises(TypeError, match="write_frames"):
        viz.render(frames, tmp_path / "f.svg")
    with pytest.raises(TypeError, match="write_frames"):
        viz.save_source(frames, tmp_path / "f.dot")
    with pytest.raises(TypeError, match="render"):
        viz.write_frames(frames[0], tmp_path)  # a Digraph iterates over its lines
    with pytest.raises(TypeError, match="got str"):
        viz.render("digraph {}", tmp_path / "g.svg")
    with pytest.raises(ValueError, match="save_source"):
        viz.render(frames[0], tmp_path / "g.dot")
    with pytest.raises(ValueError, match="'g.v1.svg'"):
        viz.render(frames[0], tmp_path / "g.v1")
    with pytest.raises(IsADirectoryError):
        viz.render(frames[0], tmp_path)  # used to write a sibling file, <tmp_path>.svg
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_missing_dot_is_explained_and_leaves_no_files(tmp_path, monkeypatch):
    dot = viz.combined_graph(apple_bill()[0])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert not viz.dot_available()
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.render(dot, tmp_path / "new" / "apple.png")
    with pytest.raises(viz.GraphvizNotFoundError):
        viz.write_frames(viz.backward_frames(apple_bill()[0]), tmp_path / "frames")
    assert not (tmp_path / "new").exists() and not (tmp_path / "frames").exists()
    source = viz.save_source(dot, tmp_path / "deep" / "dir" / "apple")  # no suffix added
    assert source.name == "apple" and source.read_text().startswith("digraph")


@pytest.mark.skipif(not HAS_DOT, reason="needs the Graphviz dot program")
def test_every_documented_format_with_and_without_suffixes(tmp_path):
    dot = viz.forward_graph(apple_bill()[0])
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}
    for fmt, head in magic.items():
        plain = viz.render(dot, tmp_path / "missing" / f"by_format_{fmt}", format=fmt)
        by_suffix = viz.render(dot, tmp_path / f"by_suffix.{fmt.upper()}")
        assert plain.name == f"by_format_{fmt}.{fmt}" and plain.read_bytes().startswith(head)
        assert by_suffix.read_bytes().startswith(head)
    assert viz.render(dot, tmp_path / "plain").name == "plain.svg"
    assert viz.render(dot, tmp_path / "step.1", format="png").name == "step.1.png"


# ------------------------------------------------------------------ options
def test_misspelt_colour_roles_and_reversed_names_are_refused():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(ValueError, match="unknown role.*'parameter'.*'param'"):
        viz.forward_graph(y, colors={"parameter": "red"})
    with pytest.raises(TypeError, match="names maps a name to a tensor"):
        viz.forward_graph(y, names={x: "x"})
    assert "#ff0000" in viz.forward_graph(y, colors={"param": "#ff0000"}).source


# ------------------------------------------------------------------ the lecture gallery
def _lecture_graphs():
    """(title, outputs, leaves whose gradients must survive drawing) for many kinds of graph."""
    rng = np.random.default_rng(0)
    nn.manual_seed(0)
    total, xs = apple_bill(np.float32)
    yield "apple", (total,), xs

    mlp = nn.models.MLP([4, 6, 3], activation="relu")
    X = rng.random((5, 4)).astype(np.float32)
    loss = nn.CrossEntropyLoss()(mlp(X), np.array([0, 1, 2, 0, 1]))
    yield "mlp", (loss,), list(mlp.parameters())

    cnn = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2)
    )
    yield "cnn", (cnn(rng.random((2, 1, 4, 4)).astype(np.float32)).sum(),), cnn.parameters()

    for cls in (nn.LSTM, nn.GRU):
        rnn = cls(2, 3, unroll=True)
        out, _ = rnn(rng.random((3, 1, 2)).astype(np.float32))
        yield cls.__name__, (out.sum(),), list(rnn.parameters())

    x = ad.tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    (g,) = ad.grad(ad.sum(ad.tanh(x) ** 2), x, create_graph=True)
    yield "second order", (ad.sum(g * g),), [x]

    v = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="v")
    a, _, c = ad.split(v, 3, axis=1)
    rows = ad.unstack(v, axis=0)
    yield "split/unstack", ((a * c).sum() + (rows[0] * rows[1]).sum(),), [v]

    w = ad.tensor(np.float64(0.5), requires_grad=True, name="w")
    with ad.no_grad():
        frozen = w * 4
    h = ad.tanh(w * 2)
    yield "detach/no_grad", (h * h.detach() * frozen + w * w,), [w]

    s = ad.tensor(np.float64(2.0), requires_grad=True, name="scalar")
    yield "0-d", (s * s, s * 3), [s]


@pytest.mark.parametrize("case", range(9))
def test_drawing_every_lecture_graph_leaves_values_and_gradients_unchanged(case):
    title, outputs, leaves = list(_lecture_graphs())[case]
    leaves = list(leaves)
    before = [t.data.copy() for t in leaves] + [t.data.copy() for t in outputs]
    expected = ad.grad(list(outputs), leaves, retain_graph=True, allow_unused=True)
    for view in VIEWS:
        for kwargs in ({}, {"depth": 1}, {"depth": 2, "repeats": True}):
            check_dot(view(*outputs, title=title, **kwargs))
    check_dot(viz.forward_graph(*outputs, health=True))
    for frame in viz.backward_frames(*outputs)[:3]:
        check_dot(frame)
    assert all(t.grad is None for t in leaves)
    for t, b in zip(leaves + list(outputs), before):
        np.testing.assert_array_equal(t.data, b)
    ad.engine.backward(list(outputs))
    for t, g in zip(leaves, expected):
        if g is not None:
            np.testing.assert_allclose(t.grad.data, g.data, rtol=1e-6)


def test_apple_bill_numbers_in_every_view():
    total, xs = apple_bill()
    want = {"apple price": "2.2", "apple count": "110", "orange price": "3.3"}
    want |= {"orange count": "165", "tax": "650"}
    backward = viz.backward_graph(total).source
    combined = viz.combined_graph(total).source
    for name, g in want.items():
        assert re.search(rf"<B>{name}</B>.*grad {g}<", backward), name
        assert re.search(rf"<B>{name}</B>.*grad {g}<", combined), name
    assert "<BR/>715>]" in viz.forward_graph(total).source
    # forward edges point from inputs to ops, backward edges from the output to leaves
    assert re.search(r"^\tt0 -> f0$", viz.forward_graph(total).source, re.M)
    assert re.search(r"^\tr0 -> s0 ", backward, re.M)
    total.backward()
    assert [round(x.grad.item(), 6) for x in xs] == [2.2, 110.0, 3.3, 165.0, 650.0]


def test_plot_model_of_nested_modules_leaves_the_model_as_it_was():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.norm = nn.BatchNorm1d(4)

        def forward(self, x):
            return ad.relu(self.norm(self.fc(x))) + x

    model = nn.Sequential(Block(), Block(), Block(), nn.Dropout(0.5), nn.Linear(4, 2))
    state = {k: v.copy() for k, v in model.state_dict().items()}
    for depth in (1, 2, 3):
        dot = plot_model(model, (4,), depth=depth, repeats=True)
        check_dot(dot)
    assert "0: Block" in plot_model(model, (4,)).source
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
