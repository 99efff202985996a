"""pytest setup shared by the lib tests and the nbval notebook runs.

nbval starts each notebook's kernel from this process's environment, so setting the scale here
makes every notebook run at the CI scale (about a minute each on 2 CPU cores).
"""

import os

os.environ.setdefault("LOOPVALLEY_SCALE", "ci")
os.environ.setdefault("CI", "1")  # one CPU thread in notebooks: deterministic numbers
os.environ.setdefault("MPLBACKEND", "Agg")
