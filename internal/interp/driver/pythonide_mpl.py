"""matplotlib backend for pythonide: MPLBACKEND=module://pythonide_mpl.

show() renders every open figure with Agg and sends it to the browser as a PNG
event on the driver's channel, then closes it. savefig works as with Agg.
"""
import base64
import io
import sys

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase


def show(*args, **kwargs):
    driver = sys.modules.get("pythonide_driver")
    channel = getattr(driver, "channel", None)
    for manager in Gcf.get_all_fig_managers():
        if channel is not None:  # outside the driver there is nowhere to send it
            png = io.BytesIO()
            manager.canvas.figure.savefig(png, format="png")
            channel.send(t="figure", mime="image/png",
                         d=base64.b64encode(png.getvalue()).decode("ascii"))
        Gcf.destroy(manager)
