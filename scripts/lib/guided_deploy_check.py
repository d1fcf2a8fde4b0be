#!/usr/bin/env python3
"""What `sam deploy --guided` checks before it deploys, run with SAM CLI's own code, so the guided deploy proceeds
with every default answer:

- SAM's authentication check (`samcli.commands.deploy.auth_utils.auth_per_resource`): a route it finds without
  authentication makes the guided deploy ask "has no authentication defined, Is this okay? [y/N]", and the default
  answer aborts. Every route must pass.
- The console's and the guided deploy's parameter groups (`AWS::CloudFormation::Interface`): every parameter in
  exactly one group, with a label.
"""

import sys
from pathlib import Path

from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.yamlhelper import yaml_parse


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    template = root / "template.yaml"
    stacks, _ = SamLocalStackProvider.get_stacks(str(template))
    checked = auth_per_resource(stacks)
    unauthenticated = sorted({name for name, authenticated in checked if not authenticated})
    if not checked:
        sys.exit("guided deploy check: SAM found no route to check (did the template change shape?)")
    if unauthenticated:
        sys.exit(f"guided deploy check: SAM would ask about routes of {unauthenticated} (no Auth on the HttpApi)")

    document = yaml_parse(template.read_text())
    parameters = set(document.get("Parameters", {}))
    interface = document.get("Metadata", {}).get("AWS::CloudFormation::Interface", {})
    grouped = [name for group in interface.get("ParameterGroups", []) for name in group.get("Parameters", [])]
    labels = interface.get("ParameterLabels", {})
    problems = []
    if sorted(grouped) != sorted(set(grouped)):
        problems.append("a parameter is in two groups")
    if set(grouped) != parameters:
        problems.append(f"ungrouped: {sorted(parameters - set(grouped))}, unknown: {sorted(set(grouped) - parameters)}")
    unlabelled = sorted(name for name in parameters if not labels.get(name, {}).get("default"))
    if unlabelled:
        problems.append(f"without a label: {unlabelled}")
    if problems:
        sys.exit("guided deploy check: " + "; ".join(problems))
    print(f"guided deploy check: {len(checked)} routes authenticated by their functions; {len(parameters)} parameters grouped")


if __name__ == "__main__":
    main()
