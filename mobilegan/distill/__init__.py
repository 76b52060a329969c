"""Student distillation (output, feature and adversarial losses) and student-vs-teacher evaluation."""
