"""Pure matplotlib functions: data in, a figure out, no global state.

Each function draws one of the course's figures and returns a
:class:`sft_teach.course_figure.CourseFigure`, which shows itself as a PNG in any Jupyter front end
(in a fresh kernel too, where a plain ``Figure`` made without pyplot shows as text), in the course's
style and colours, with a title broken into lines that fit: see :mod:`sft_teach.course_figure`.
Importing this module registers nothing and changes no setting.

The figures live in five modules, one a concept; ``from sft_teach.plots import NAME`` finds each:

* :mod:`sft_teach.plots_run`: one run, ``loss_curve``, ``confusion_plot``;
* :mod:`sft_teach.plots_rates`: learning rates, ``lr_schedule``, ``lr_finder``, ``learning_rate_sweep``;
* :mod:`sft_teach.plots_data`: the data, ``data_overview``, ``embedding_map``;
* :mod:`sft_teach.plots_layers`: layer by layer, ``layer_transfer``, ``per_layer``, ``unfreezing_timeline``;
* :mod:`sft_teach.plots_methods`: methods compared, ``label_race``, ``lora_comparison``.
"""

from sft_teach.plots_data import data_overview, embedding_map
from sft_teach.plots_layers import layer_transfer, per_layer, unfreezing_timeline
from sft_teach.plots_methods import label_race, lora_comparison
from sft_teach.plots_rates import learning_rate_sweep, lr_finder, lr_schedule
from sft_teach.plots_run import confusion_plot, loss_curve

__all__ = ["confusion_plot", "data_overview", "embedding_map", "label_race", "layer_transfer",
           "learning_rate_sweep", "loss_curve", "lora_comparison", "lr_finder", "lr_schedule", "per_layer",
           "unfreezing_timeline"]
