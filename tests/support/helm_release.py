"""helm install / test / uninstall of charts/kubecnn against a kubeconfig, through Helm's own engine
(helm-python-sdk: Helm v4's Go SDK, no helm binary), for the end-to-end suite on a real control
plane. Prints what Helm answered; exits 1 with Helm's message when it refuses.

  helm_release.py install   --kubeconfig K --namespace N --name R [--values JSON] [--timeout S] [--chart DIR]
  helm_release.py test      --kubeconfig K --namespace N --name R [--timeout S]
  helm_release.py uninstall --kubeconfig K --namespace N --name R [--timeout S]
"""
import argparse
import json
import pathlib
import sys

import helm_python as helm

ROOT = pathlib.Path(__file__).resolve().parents[2]


def summary(release):
    """Revision and status of a release summary, without its manifest and notes."""
    if not isinstance(release, dict):
        return str(release)
    return ", ".join(f"{key} {release[key]}" for key in ("revision", "status", "chart_version") if key in release)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["install", "test", "uninstall"])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--values", default="{}", help="the values as a JSON object")
    parser.add_argument("--timeout", type=int, default=120, help="seconds")
    parser.add_argument("--chart", default=str(ROOT / "charts" / "kubecnn"))
    args = parser.parse_args()

    config = helm.Config(kubeconfig_path=args.kubeconfig, namespace=args.namespace)
    try:
        if args.action == "install":
            # As `helm install --create-namespace --wait`: CRDs from crds/ first, then the release,
            # ready when its Deployment is.
            release = config.install(args.chart, args.name, json.loads(args.values), namespace=args.namespace,
                                     create_namespace=True, wait="watcher", timeout=args.timeout)
            print(f"installed {args.name} in {args.namespace}: {summary(release)}")
        elif args.action == "test":
            result = config.test(args.name, timeout=args.timeout)
            print(f"tested {args.name}: passed ({summary(result.get('release', result))})")
        else:
            result = config.uninstall(args.name, wait="watcher", timeout=args.timeout)
            print(f"uninstalled {args.name}: {result.get('info', '') if isinstance(result, dict) else result}")
    except helm.HelmError as e:  # the SDK's refusal, with Helm's own message
        print(f"helm {args.action} {args.name}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
