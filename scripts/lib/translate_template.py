"""Translates template.yaml with AWS's own SAM translator (the one `sam validate` and `sam deploy` use), once per
samconfig.toml environment, into target/sam/<environment>.json: {"environment", "parameters", "template"}.

The tests take every function's role, environment and logging configuration from these files, so what they
enforce is what CloudFormation would create, not a hand-written copy.

    python scripts/lib/translate_template.py [OUT_DIR]
"""

import json
import os
import shlex
import sys
import tomllib
from pathlib import Path

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform


class NoManagedPolicies(ManagedPolicyLoader):
    """The template names no managed policy by name (SAM adds AWSLambdaBasicExecutionRole by ARN), so nothing is
    looked up in IAM: translation needs no AWS account."""

    def __init__(self):
        pass

    def load(self):
        return {}


def parameter_overrides(raw):
    """`Key="Value" Key2=Value2`, as sam deploy reads `parameter_overrides`."""
    if isinstance(raw, list):
        raw = " ".join(raw)
    pairs = {}
    for token in shlex.split(raw or ""):
        key, _, value = token.partition("=")
        pairs[key] = value
    return pairs


def packaged(template):
    """The template as `sam deploy` hands it to CloudFormation: each local CodeUri replaced by the S3 object the
    package step uploaded (the translator accepts only S3 locations)."""
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            if not str(properties.get("CodeUri", "")).startswith("s3://"):
                properties["CodeUri"] = f"s3://switchyard-package/{name}.zip"
    return template


# Parameters no samconfig.toml environment sets, translated on top of the default one so the tests see those parts
# of the stack too: target/sam/default+<variant>.json.
VARIANTS = {
    "custom-domain": {
        "DomainName": "api.switchyard.example",
        "CertificateArn": "arn:aws:acm:eu-central-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
        "HostedZoneId": "Z0123456789EXAMPLE",
    },
}


def translate(template, environment, parameters, region, out, name):
    # The translator asks for the region (ARNs of the partition); the tests resolve the rest themselves.
    values = dict(parameters, **{"AWS::Region": region})
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator's boto session insists on one
    translated = transform(packaged(json.loads(json.dumps(template))), values, NoManagedPolicies())
    document = {"environment": environment, "region": region, "parameters": parameters, "template": translated}
    (out / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=True, default=str))
    print(f"translated template.yaml for [{name}] into {out / (name + '.json')}")


def main():
    root = Path(__file__).resolve().parents[2]
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "target" / "sam"
    out.mkdir(parents=True, exist_ok=True)
    template = yaml_parse((root / "template.yaml").read_text())
    samconfig = tomllib.loads((root / "samconfig.toml").read_text())
    environments = [name for name, table in samconfig.items() if isinstance(table, dict)]
    for environment in environments:
        deploy = samconfig[environment].get("deploy", {}).get("parameters", {})
        overrides = parameter_overrides(deploy.get("parameter_overrides"))
        unknown = set(overrides) - set(template.get("Parameters", {}))
        if unknown:
            sys.exit(f"samconfig.toml [{environment}] overrides unknown parameters: {sorted(unknown)}")
        parameters = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        parameters.update(overrides)
        region = deploy.get("region", "us-east-1")
        translate(template, environment, parameters, region, out, environment)
        if environment == "default":
            for variant, values in VARIANTS.items():
                translate(template, environment, dict(parameters, **values), region, out, f"default+{variant}")


if __name__ == "__main__":
    main()
