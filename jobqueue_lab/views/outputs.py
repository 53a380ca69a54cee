"""Outputs made by hand: a chart, a table or text as the plain dicts a notebook stores as a
cell's outputs (an Output widget's ``outputs`` take the same).

The dashboard's run thread may never print or display (see ``dashboard``), so it renders its
results into these dicts and hands them over in one assignment.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.figure import Figure


def figure_output(fig: Figure) -> dict[str, Any]:
    """The figure as a PNG, with the text a notebook shows for a figure (no address in it)."""
    png = io.BytesIO()
    fig.savefig(png, format="png")
    width, height = fig.get_size_inches()
    return display_data(
        {
            "image/png": base64.b64encode(png.getvalue()).decode("ascii"),
            "text/plain": f"<Figure size {width:g}x{height:g} inches>",
        }
    )


def text_output(text: str) -> dict[str, Any]:
    """``text`` as if printed."""
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def display_data(data: dict[str, str]) -> dict[str, Any]:
    """A mimebundle (``{"text/html": ..., "text/plain": ...}``) as if displayed."""
    return {"output_type": "display_data", "data": data, "metadata": {}}

