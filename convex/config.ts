/**
 * The Convex deployment's own settings. These functions run in Convex's runtime, not in the Torpor
 * process, so src/core/config (the app's settings) does not apply: the deployment's environment is
 * set with `npx convex env set` or in the Convex dashboard. This is the one place in convex/ that
 * reads it.
 */

/** The shared secret every public function checks; undefined when the deployment lacks it. */
export function deploymentSecret(): string | undefined {
  const secret = process.env.TORPOR_CONVEX_SECRET;
  return secret && secret.length >= 16 ? secret : undefined;
}
