import type { Command } from 'commander';

interface RbacFlags {
  env?: string;
  namespace?: string;
  serviceAccount: string;
  file: string;
  createNamespace?: boolean;
  group: string[];
}

/**
 * `modelfleet rbac [--env E] [--namespace N] [--service-account NAME]`: prints the
 * ServiceAccount, Role and RoleBinding the deploy jobs need (docs/deploy.md, "Least privilege").
 * Writes nothing and talks to no cluster: a cluster admin pipes it into `kubectl apply -f -`.
 */
export function register(program: Command): void {
  program
    .command('rbac')
    .description('Print the ServiceAccount, Role and RoleBinding (YAML) that `modelfleet deploy` needs in an environment\'s namespace, and nothing more (docs/deploy.md).')
    .option('--env <name>', 'an environment of models.yaml, whose namespace it is (default: $MODELFLEET_ENV, else the first; without models.yaml, namespace modelfleet-<env>, default dev)')
    .option('--namespace <name>', 'Kubernetes namespace (default: the environment\'s)')
    .option('--service-account <name>', 'the deploy identity\'s ServiceAccount (also the Role and RoleBinding name)', 'modelfleet-deployer')
    .option('--file <models.yaml>', 'the fleet file; its `kubernetes: { createNamespace }` adds the cluster-scoped rule for the namespace', 'models.yaml')
    .option('--create-namespace', 'add the ClusterRole to create the namespace even if models.yaml does not ask for it')
    .option('--group <name>', 'bind the Role to this group too (repeatable), e.g. the GitLab agent\'s gitlab:project_env:<project id>:<env slug>', (value: string, all: string[]) => [...all, value], [])
    .action(async (flags: RbacFlags) => {
      const [{ existsSync }, { loadFleet }, { findEnvironment }, { renderRbac }, { createNamespaceSetting, environmentName, namespaceForEnvironment }, { fleetHasScaledObjects }] = await Promise.all([
        import('node:fs'),
        import('../../generator/fleet/load-fleet.js'),
        import('../../generator/fleet/find-environment.js'),
        import('../../pipeline/deploy/rbac/render-rbac.js'),
        import('../../pipeline/deploy/kube/namespace-for-env.js'),
        import('../../pipeline/deploy/fleet-has-scaled-objects.js'),
      ]);
      // Without a models.yaml (an admin's machine), only --create-namespace adds the cluster rule.
      const fleet = existsSync(flags.file) ? loadFleet(flags.file) : undefined;
      const namespace = flags.namespace ?? (fleet ? findEnvironment(fleet, flags.env).namespace : namespaceForEnvironment(environmentName(flags.env)));
      const createNamespace = flags.createNamespace === true || (fleet !== undefined && createNamespaceSetting(fleet));
      // Bulk models' ScaledObjects are applied with the model, so the Role must cover them.
      const { yaml } = renderRbac({ namespace, serviceAccount: flags.serviceAccount, createNamespace, groups: flags.group, bulk: fleet !== undefined && fleetHasScaledObjects(fleet) });
      process.stdout.write(yaml);
    });
}
