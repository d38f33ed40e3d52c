"""jqodi_opt: energy-optimal model selection, quantization, partitioning and offloading for
cloud–edge–end DNN fine-tuning (the JQODI problem of Zhou et al., IEEE Trans. Networking 2026).

The pipeline::

    read_instance(path) -> Instance -> compile_problem(instance) -> Problem
        -> solve(problem, solver=...) -> Result (plan) -> evaluate(instance, plan)
"""

from jqodi_opt.exceptions import InputError, InstanceError, PlanError, SolverNotFound
from jqodi_opt.finetune.costs import cost_table, model_costs
from jqodi_opt.finetune.evaluate import Evaluation, evaluate
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.finetune.learning import learning_outcome
from jqodi_opt.finetune.plan import Plan, read_plan, write_plan
from jqodi_opt.finetune.problem import Candidate, Problem, compile_problem
from jqodi_opt.read import read_instance, write_instance
from jqodi_opt.result import Result, Status
from jqodi_opt.solve import SOLVERS, solve

__version__ = "0.1.0"

__all__ = [
    "SOLVERS",
    "Candidate",
    "Evaluation",
    "InputError",
    "Instance",
    "InstanceError",
    "Plan",
    "PlanError",
    "Problem",
    "Result",
    "SolverNotFound",
    "Status",
    "__version__",
    "compile_problem",
    "cost_table",
    "evaluate",
    "learning_outcome",
    "model_costs",
    "read_instance",
    "read_plan",
    "solve",
    "write_instance",
    "write_plan",
]
