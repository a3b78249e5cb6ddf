"""Renders actions/<name>/action.yml from an ActionSpec, so the two can never disagree.

Every action has the same thin composite shape: plan the environment, restore the uv
package cache when the environment is not there yet, then exec ``shipline <name>`` (the
step's process becomes shipline's, so a cancelled run's signal reaches it) with each input
passed through ``env:`` (never ``${{ }}`` inside ``run:``).
"""

from __future__ import annotations

import json

from shipline.gha.inputs import ActionSpec

CACHE_ACTION = "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae # v5.0.5"
BOOTSTRAP = 'bash "$GITHUB_ACTION_PATH/../../scripts/bootstrap"'
RUN_STEP_ID = "run"


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render(spec: ActionSpec, source: str) -> str:
    """``source``: the spec's file, named in the header so readers know where to edit."""
    lines = [
        f"# Generated from {source} by scripts/generate;",
        "# edit the spec, then run scripts/generate.",
        f"name: {_quote('shipline ' + spec.name)}",
        f"description: {_quote(spec.description)}",
        "author: shipline",
        "branding:",
        f"  icon: {spec.icon}",
        "  color: blue",
        "inputs:",
    ]
    for item in spec.inputs:
        lines += [
            f"  {item.name}:",
            f"    description: {_quote(item.description)}",
            f"    required: {'true' if item.required else 'false'}",
        ]
        if item.default:
            lines.append(f"    default: {_quote(item.default)}")
    lines.append("outputs:")
    for output in spec.outputs:
        lines += [
            f"  {output.name}:",
            f"    description: {_quote(output.description)}",
            f"    value: ${{{{ steps.{RUN_STEP_ID}.outputs.{output.name} }}}}",
        ]
    lines += [
        "runs:",
        "  using: composite",
        "  steps:",
        "    - name: Plan the shipline environment",
        "      id: plan",
        "      shell: bash",
        "      env:",
        f"        SHIPLINE_EXTRAS: {spec.extra}",
        f"      run: {BOOTSTRAP} --plan",
        "    - name: Restore the package cache",
        "      if: steps.plan.outputs.ready != 'true'",
        f"      uses: {CACHE_ACTION}",
        "      with:",
        "        path: ${{ steps.plan.outputs.uv-cache }}",
        "        key: ${{ steps.plan.outputs.cache-key }}",
        f"    - name: shipline {spec.name}",
        f"      id: {RUN_STEP_ID}",
        "      shell: bash",
        "      env:",
        f"        SHIPLINE_EXTRAS: {spec.extra}",
    ]
    for item in spec.inputs:
        lines.append(f"        {item.env_names[0]}: ${{{{ inputs.{item.name} }}}}")
    # exec: when a run is cancelled, the runner signals the step's own process (SIGINT, then
    # SIGTERM 7.5 s later, then kills the tree), and bash waiting on a child forwards nothing.
    # With exec that process becomes shipline, which stops its tools cleanly (pytest tears
    # its fixtures down) instead of being killed with them.
    lines.append(f"      run: exec {BOOTSTRAP} --exec {spec.name}")
    return "\n".join(lines) + "\n"
