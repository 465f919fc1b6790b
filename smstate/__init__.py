"""smstate: a declarative, Terraform-style reconciler for SageMaker inference resources."""

__version__ = "0.1.0"
