"""The course's figure: a ``Figure`` that shows itself as a PNG, in the course's style and colours.

Every figure of the course is made here (:func:`new_figure`, inside :func:`styled`): the gallery
of plots in :mod:`sft_teach.plots` and the diagrams of :mod:`sft_teach.diagrams`.

How a figure shows itself
-------------------------
The course builds figures with ``Figure`` rather than ``pyplot``, so they change no global
state and draw nothing twice. A plain ``matplotlib.figure.Figure`` made that way shows in a
fresh Jupyter kernel only as the text ``<Figure size 600x320 with 1 Axes>``: IPython's PNG
formatter for figures is registered only once pyplot's inline backend is activated. So every
figure is a :class:`CourseFigure`, a ``Figure`` that carries its own
``_repr_png_``. IPython asks any object for ``_repr_png_``, with no registration, so the
figure is a picture in JupyterLab, under nbclient, nbval and ``sft-teach course``, and is
saved as ``image/png`` in the notebook (GitHub and nbconvert HTML show it too). Importing
this module registers nothing and changes no setting.

How figures look
----------------
One style for the course (:data:`STYLE`, applied inside each drawing function by :func:`styled`
with ``matplotlib.rc_context``, never globally): type sized for a notebook's width, no top and right
spines, and the Okabe-Ito palette, which stays distinguishable under the common forms of
colour blindness. The same method has the same colour in every notebook
(:func:`method_colour`): fine-tuned blue, frozen body + head orange, bag of words green,
from scratch vermilion, LoRA purple. A title states the figure's message, so it can be long: it
is broken into lines that fit the figure's width when it is drawn (:meth:`CourseFigure.draw`)
rather than running past its edge, and legends sit below the plot or inside it, never beside a
title.

Used by every figure of notebooks 01 to 07.
"""

from __future__ import annotations

import functools
import io
import re

import matplotlib
import matplotlib.cbook
import matplotlib.text
from matplotlib.figure import Figure

#: Okabe & Ito (2008), "Color universal design": eight colours told apart by every common
#: form of colour blindness. Black is left out of the cycle (it is used for reference lines).
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "font.size": 10.5,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.framealpha": 0.9,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO[:7]),
    "image.cmap": "Blues",
}

#: The course's methods, by the words their names contain: the first match wins.
_METHOD_COLOURS = (
    (("lora",), OKABE_ITO[4]),
    (("scratch", "random"), OKABE_ITO[3]),
    (("bag of words", "tf-idf", "tfidf"), OKABE_ITO[2]),
    (("frozen", "feature extraction", "+ new head", "head only", "head alone", "probe"), OKABE_ITO[1]),
    (("fine-tun", "finetun", "full"), OKABE_ITO[0]),
)

#: Dots per inch of the PNG a figure shows as: a 6-inch figure is 600 pixels wide, which
#: fits JupyterLab's notebook column and GitHub's without being scaled down.
DPI = 100


def method_colour(name: str, default: str | None = None) -> str | None:
    """The course's colour for a method, recognised by its name ("fine-tuned (all 6 blocks)" -> blue).

    Returns ``default`` for names that are none of the course's methods. Used by every figure
    that compares methods (notebooks 01, 03, 04, 06).
    """
    lowered = name.lower()
    for words, colour in _METHOD_COLOURS:
        if any(word in lowered for word in words):
            return colour
    return default


class CourseFigure(Figure):
    """A ``Figure`` that displays as a PNG in any Jupyter front end, with nothing registered.

    ``_repr_png_`` is the IPython display protocol: the kernel calls it when the figure is the
    value of a cell, or passed to ``display()`` or ``DisplayHandle.update()``.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        return buffer.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The PNG, with :meth:`description` as its ``alt`` text in the output's metadata: the words
        the book and ``sft-teach course --html`` give the picture, for a reader who cannot see it."""
        return {"image/png": self._repr_png_()}, {"image/png": {"alt": self.description()}}

    #: A figure's words, written by the function that drew it, for a figure whose titles and axes
    #: say nothing (a diagram is text and boxes on a blank canvas); None: :meth:`description` reads them.
    words: str | None = None

    def description(self) -> str:
        """The figure in words, from its titles and axis labels: "Figure: the loss falls as the model
        learns. x axis: optimiser step (one batch each); y axis: cross-entropy loss (nats)."; a figure
        of several panels names each. A diagram's own :attr:`words`, when it has them."""
        if self.words:
            return self.words

        def words(text) -> str:  # a title as written, on one line, its mathtext as plain words
            text = _written(text) if isinstance(text, matplotlib.text.Text) else text
            if matplotlib.cbook.is_math_text(text):  # as matplotlib draws it: "$5, $10 or $15" is no formula
                text = re.sub(r"(?<!\\)\$(.*?)(?<!\\)\$", lambda m: _plain_maths(m[1]), text)
            text = text.replace("\\$", "$")  # an escaped dollar is drawn as one
            said = ""  # a line the writer broke without punctuation ends in a pause: "26 of 29 right; most missed"
            for line in (" ".join(line.split()) for line in text.split("\n") if line.strip()):
                said += ("" if not said else " " if said[-1] in ".,;:!?" else "; ") + line
            return said

        def panel(ax, twins) -> str:
            labelled = [("x", ax.get_xlabel()), ("y", ax.get_ylabel())]
            for twin in twins:  # ax.twinx() / twiny(): a second scale of the same panel, on the other side
                labelled += [("top x" if twin.xaxis.get_label_position() == "top" else "x", twin.get_xlabel()),
                             ("right y" if twin.yaxis.get_label_position() == "right" else "y", twin.get_ylabel())]
            axes = "; ".join(f"{name} axis: {words(label)}" for name, label in labelled if label.strip())
            title = " ".join(t for t in (words(a.title) for a in (ax, *twins)) if t)
            return f"{title}{'' if not title or title[-1] in '.?!:' else '.'} {axes}".strip()

        shown = [ax for ax in self.axes if ax.get_label() != "<colorbar>"]  # a colour bar is no panel
        twins = {id(ax): [t for t in shown[i + 1:] if _twins(ax, t)] for i, ax in enumerate(shown)}
        seconds = {id(t) for ts in twins.values() for t in ts}
        panels = [panel(ax, twins[id(ax)]) for ax in shown if id(ax) not in seconds]
        top = [words(self._suptitle)] if self._suptitle is not None and self._suptitle.get_text() else []
        if len([p for p in panels if p]) > 1:
            panels = [f"panel {i}: {p}" for i, p in enumerate(panels, 1) if p]
        text = "".join(f"{part}{'' if part[-1] in '.?!:' else '.'} " for part in top + panels if part)
        return f"Figure: {text}".strip() if text else "Figure"

    def draw(self, renderer):
        """Draw, each title first broken into lines that fit (:func:`_fit_title`): the layout is
        worked out to find where each title is centred, then again with the titles' lines."""
        titles = [ax.title for ax in self.axes] + ([self._suptitle] if self._suptitle is not None else [])
        # a title under 0.6 of the figure's width fits wherever its axes sit (none is centred further
        # out than 0.3 from an edge): most figures skip the extra layout passes (20 ms each)
        if any(_written(title) and _line_width(_written(title), title, renderer) > 0.6 * self.bbox.width
               for title in titles):
            engine = self.get_layout_engine()
            for _ in range(3):  # a title cut into lines moves the axes a little: fit again where they went
                if engine is not None:
                    engine.execute(self)
                before = [title.get_text() for title in titles]
                for ax in self.axes:
                    box = ax.get_position()  # in figure fractions: an axes title is centred over its axes,
                    centre = (box.x0 + box.x1) / 2  # so it has twice the distance to the nearer edge
                    _fit_title(ax.title, renderer, 2 * min(centre, 1 - centre) * self.bbox.width)
                if self._suptitle is not None:  # centred on the figure
                    _fit_title(self._suptitle, renderer, self.bbox.width)
                if [title.get_text() for title in titles] == before:  # the lines did not change: settled
                    break
        super().draw(renderer)


def _twins(ax, other) -> bool:
    """Whether ``other`` is ``ax.twinx()`` or ``ax.twiny()``: matplotlib keeps twins in one group (their
    places can differ until drawn, a colour bar having shrunk the first), since matplotlib 2.1."""
    return ax._twinned_axes.joined(ax, other)


_MATH_WORDS = {r"\eta": "eta", r"\theta": "theta", r"\alpha": "alpha", r"\beta": "beta", r"\lambda": "lambda",
               r"\mu": "mu", r"\sigma": "sigma", r"\Delta": "Delta", r"\delta": "delta", r"\nabla": "gradient of",
               r"\|": "‖", r"\times": "×", r"\cdot": "·", r"\leq": "≤", r"\geq": "≥", r"\approx": "≈",
               r"\sqrt": "square root of", r"\log": "log", r"\pm": "±", r"\infty": "infinity", r"\le": "≤",
               r"\ge": "≥", r"\ne": "≠", r"\neq": "≠", r"\frac": "fraction"}


def _plain_maths(tex: str) -> str:
    """Mathtext (``$\\|\\Delta W\\|_F$``) as a screen reader can say it: ``‖ Delta W ‖ F``. Listed
    commands become words or signs (``\\eta`` eta, ``\\le`` ≤), font and accent commands are dropped
    (``\\mathrm{x}`` reads x), TeX's spaces are spaces, an escaped sign is the sign, and any other
    command loses its backslash."""
    signs: dict[str, str] = {}  # \$ \_ \{ ...: kept aside, so that no later rule reads them

    def keep(match):
        signs[f"\x00{len(signs)}\x00"] = match[1]
        return f"\x00{len(signs) - 1}\x00"

    tex = re.sub(r"\\([$%#&_{}])", keep, tex)
    for command, word in sorted(_MATH_WORDS.items(), key=lambda kv: -len(kv[0])):
        tex = re.sub(re.escape(command) + (r"(?![A-Za-z])" if command[-1].isalpha() else ""), f" {word} ", tex)
    tex = re.sub(r"\\(mathrm|mathbf|mathit|mathcal|mathbb|text|operatorname|left|right|hat|bar|tilde)(?![A-Za-z])",
                 "", tex)
    tex = re.sub(r"\\[,;:! ]", " ", tex)  # TeX's spaces
    tex = re.sub(r"\\([A-Za-z]+)", r"\1", tex).replace("_", " ").replace("^", " to the ")
    tex = " ".join(tex.replace("{", " ").replace("}", " ").split())
    for key, sign in signs.items():
        tex = tex.replace(key, sign)
    return tex


def _written(title) -> str:
    """A title's text as the caller wrote it, before :func:`_fit_title` broke it into lines."""
    text = title.get_text()
    return title._written if getattr(title, "_fitted", None) == text else text


def _line_width(text: str, title, renderer) -> float:
    """The width in pixels of the widest line of ``text`` drawn in ``title``'s font."""
    shown = title.get_text()
    title.set_text(text)
    width = title.get_window_extent(renderer).width
    title.set_text(shown)
    return width


def _fit_title(title, renderer, room: float) -> None:
    """Break a title ``Text`` into lines, between words, each narrower than ``room`` pixels (less a
    margin), so that a long title is never cut at the picture's edge; as few lines as fit, as even
    as they can be (no word left alone on the last line). Fitted again at each draw from the title
    as written (line breaks the caller wrote stay), so that it fits where the axes are now."""
    written = _written(title)
    if not written:  # an axes without a title (a colour bar's): nothing to fit
        return

    def width(line: str) -> float:  # pixels, measured as it will be drawn
        return _line_width(line, title, renderer)

    def lines(limit: float) -> list[str]:  # greedy: each line takes words while it fits
        out = []
        for paragraph in written.split("\n"):
            line = ""
            for word in paragraph.split(" "):
                if line and width(f"{line} {word}") > limit:
                    out.append(line)
                    line = word
                else:
                    line = f"{line} {word}" if line else word
            out.append(line)
        return out

    limit = 0.96 * room
    fitted = lines(limit)
    # even lines: the narrowest limit that still needs no more lines (found by halving the range)
    low = max(width(line) for line in written.split("\n")) / len(fitted)
    for _ in range(8):
        middle = (low + limit) / 2
        if len(lines(middle)) == len(fitted):
            limit = middle
        else:
            low = middle
    fitted = lines(limit)
    title.set_text("\n".join(fitted))
    title._written, title._fitted = written, title.get_text()


def new_figure(**kwargs) -> CourseFigure:
    """A :class:`CourseFigure` (``layout="constrained"`` unless given); use inside :func:`styled`.

    Every figure of the course is made here (this module and :mod:`sft_teach.diagrams`).
    """
    kwargs.setdefault("layout", "constrained")
    return CourseFigure(**kwargs)


def styled(draw):
    """Run a drawing function inside the course's :data:`STYLE`, leaving global settings untouched."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper
