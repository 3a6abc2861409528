"""Plattr's AWS CDK app: PlattrInfraStack, PlattrOperatorStack, PlattrCicdStack."""
