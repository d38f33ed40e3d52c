"""The inference family (SPEC §7): split inference with quantization, pruning and feature
compression across a device, edge and cloud servers.

The pipeline mirrors fine-tuning::

    read_inference(path) -> InferenceInstance -> compile_inference(instance) -> InferenceProblem
        -> (solvers) -> InferencePlan -> evaluate_inference(instance, plan)
"""

from jqodi_opt.inference.evaluate import InferenceEvaluation, evaluate_inference
from jqodi_opt.inference.instance import InferenceInstance
from jqodi_opt.inference.plan import (
    InferencePlan,
    LayerChoice,
    assignment_of,
    make_inference_plan,
    read_inference_plan,
    write_inference_plan,
)
from jqodi_opt.inference.problem import (
    Assignment,
    InferenceProblem,
    assignment_violations,
    compile_inference,
)
from jqodi_opt.inference.read import build_inference, read_inference, write_inference

__all__ = [
    "Assignment",
    "InferenceEvaluation",
    "InferenceInstance",
    "InferencePlan",
    "InferenceProblem",
    "LayerChoice",
    "assignment_of",
    "assignment_violations",
    "build_inference",
    "compile_inference",
    "evaluate_inference",
    "make_inference_plan",
    "read_inference",
    "read_inference_plan",
    "write_inference",
    "write_inference_plan",
]
