"""A project's job, stage by stage: ``mrv run PROJECT`` (:func:`run_project`).

The stages (:mod:`mrv_service.run.stages`) are functions of the tables that
:func:`~mrv_service.run.inputs.load_project_inputs` reads from the store; the runner
(:mod:`mrv_service.run.runner`) registers the run, writes the outputs and publishes them at once.
"""

from mrv_service.run.runner import STAGES, run_project

__all__ = ["STAGES", "run_project"]
