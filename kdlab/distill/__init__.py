"""Distillation: the :class:`Distiller` contract that binds a student, frozen teachers and a loss module."""

from kdlab.distill.distiller import Distiller

__all__ = ["Distiller"]
