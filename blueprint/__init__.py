"""blueprint: policy-checked blueprints for ECS-on-EC2 services on AWS."""

__version__ = "0.1.0"
