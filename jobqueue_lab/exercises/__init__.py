"""Checks for the notebook exercises: each one says, in plain words, what is still wrong.

Each notebook has a module of its own here, named after it: ``nb00_start_here`` checks the
exercise of ``00-start-here.ipynb``, and so on. ``feedback`` holds what they share, above all
``report(problems)``, which prints the verdict.

A check takes the learner's code, tries it, and returns a list of problems (plain-English
strings); an empty list means solved. A check never raises because of the learner's code: an
exception from that code becomes one more problem, so a notebook runs top to bottom even while
its exercises are unsolved.

How an exercise is wired into a notebook (the notebook tests rely on this convention):

1. The starter cell is a code cell tagged ``exercise-starter`` whose metadata also names its
   check: ``{"tags": ["exercise-starter"], "exercise": "check_is_legal_path"}``. It is
   self-contained (it imports what it uses) and runnable as shipped; it defines the names the
   check takes as parameters (here ``is_legal_path``).
2. The next cell imports the check from the notebook's module and reports, e.g.
   ``report(check_is_legal_path(is_legal_path))``. As shipped, it prints "Not solved yet: ...".
3. The worked solution lives outside the package, in ``notebooks/solutions/NN_<name>.py``
   (one module per notebook, covering all its exercises). It defines the same names as the
   starter cells, and the check returns no problems for them.
4. The check's parameter names are those names, so a test can exec the starter, import the
   solution, and call the check with either.
"""

from .feedback import NOT_SOLVED, SOLVED, Problems, report

__all__ = ["NOT_SOLVED", "SOLVED", "Problems", "report"]
