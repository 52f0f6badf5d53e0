"""Section "Exercises" (issue 13, item 7): write ``backward`` for eight layers, graded in the page."""
from pyfadml.app.exercises.section import ExercisesSection

__all__ = ["ExercisesSection"]
