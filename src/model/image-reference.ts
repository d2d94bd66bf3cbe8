/**
 * @module
 * Image references (`host[:port]/path[:tag][@digest]`) parsed and normalised
 * the way containerd and podman name images (docker/distribution's
 * ParseNormalizedNamed): a first component without a dot or colon that is
 * not `localhost` is a Docker Hub path, and a single-component Hub path is
 * under `library/`. `busybox` → `docker.io/library/busybox:latest`. Pure.
 *
 * In src/model because three layers name images by it: the registry client
 * (what to pull), the archive importer (`docker save` RepoTags) and the
 * runtime (which image record a cell's `image` names).
 */
import { KeonError } from "./errors.ts";

export interface ImageReference {
  /** Registry host as named in the reference: `docker.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path: `library/busybox`. */
  path: string;
  /** The tag; absent when only a digest was given. */
  tag?: string;
  /** `sha256:<hex>` when the reference pins one. */
  digest?: string;
}

export const DOCKER_HUB_DOMAIN = "docker.io";
const LEGACY_HUB_DOMAINS = new Set(["index.docker.io", "registry-1.docker.io"]);
const DEFAULT_TAG = "latest";

// docker/distribution reference/regexp.go, component by component.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME_LENGTH = 255;

function invalid(input: string, why: string): KeonError {
  return new KeonError("INVALID_NAME", `image reference '${input}': ${why}`, { details: { reference: input } });
}

/** Parse and normalise `input`; INVALID_NAME says what is wrong. Digests other than sha256 are UNSUPPORTED. */
export function parseReference(input: string): ImageReference {
  if (input === "") throw invalid(input, "empty");
  if (input.length > 4096 || /\s/.test(input)) throw invalid(input, "contains whitespace or is too long");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest) || (digest.startsWith("sha256:") && !SHA256.test(digest))) throw invalid(input, `bad digest '${digest}'`);
    if (!SHA256.test(digest)) {
      throw new KeonError("UNSUPPORTED", `image reference '${input}': only sha256 digests are supported`, {
        details: { reference: input },
      });
    }
  }
  // A tag follows the last colon after the last slash (a colon before it is a port).
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.indexOf(":", lastSlash + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `bad tag '${tag}'`);
  }

  const slash = rest.indexOf("/");
  const first = slash === -1 ? "" : rest.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash === -1 || (!first.includes(".") && !first.includes(":") && first !== "localhost" && !first.startsWith("["))) {
    domain = DOCKER_HUB_DOMAIN;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (LEGACY_HUB_DOMAINS.has(domain.toLowerCase())) domain = DOCKER_HUB_DOMAIN;
  if (!DOMAIN.test(domain)) throw invalid(input, `bad registry host '${domain}'`);
  if (domain === DOCKER_HUB_DOMAIN && !path.includes("/")) path = `library/${path}`;
  if (path === "") throw invalid(input, "no repository path");
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(input, `bad path component '${component}' (lower-case letters, digits and . _ - separators)`);
    }
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) throw invalid(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** `domain/path[:tag][@digest]`: the name the image record gets. */
export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** `domain/path`, for messages and scopes. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The normalised name of `input` (`busybox` → `docker.io/library/busybox:latest`); undefined when it is no valid reference. */
export function normalizeImageName(input: string): string | undefined {
  try {
    return formatReference(parseReference(input));
  } catch {
    return undefined;
  }
}

/**
 * The image record names a container's `image` may mean, in the order they
 * are looked up: the name as written (an archive imported under a short
 * name), then its normalised form (what a pull records).
 */
export function imageNameCandidates(input: string): string[] {
  const normalized = normalizeImageName(input);
  return normalized === undefined || normalized === input ? [input] : [input, normalized];
}
