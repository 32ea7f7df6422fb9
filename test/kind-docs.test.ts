// docs/kind.md ("Run it in kind") stays true without a kind cluster here: the image it builds is the
// one deploy/Dockerfile and package.json make; the helm flags it gives are keys of the chart, and
// rendered with them (a real helm) the control plane and every proxy it provisions run that image
// with pullPolicy Never; each `docker build` names a Dockerfile, context and tag that npm run image
// builds too; the Deployments and containers it re-points exist in the tutorial's manifests, which
// stay unchanged. And the README's cluster section sends readers there instead of naming a
// published image.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { IMAGES } from '../deploy/image/images.ts';
import { container, one, render } from './helm/chart.ts';
import { ROOT } from './support/processes.ts';
import { GO_TOOLS } from './support/tools.ts';
import { TUTORIAL_MANIFESTS } from './support/tutorial.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const page = readFileSync(join(ROOT, 'docs/kind.md'), 'utf8');

/** Shell lines of the page's ```sh blocks, continuations joined. */
const lines = [...page.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n')).map((l) => l.trim()).filter(Boolean);
const imageOf = (name: string): string => {
  const spec = IMAGES.find((i) => i.name === name)!;
  return `${spec.name}:${spec.tag}`;
};
const words = (line: string): string[] => [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');

test('it builds mcpmux:VERSION from deploy/Dockerfile and loads it into kind', () => {
  assert.ok(lines.includes(`docker build -t mcpmux:${pkg.version} -f deploy/Dockerfile .`), 'the docker build line');
  assert.ok(lines.some((l) => l.startsWith(`kind load docker-image mcpmux:${pkg.version}`)), 'kind load docker-image');
  assert.ok(lines.includes('npm run image'), 'the build without Docker');
});

test('its helm flags are chart values, and with them every mcpmux pod runs the loaded image, never pulled', async () => {
  const install = lines.find((l) => l.startsWith('helm install mcpmux deploy/helm/mcpmux'));
  assert.ok(install, 'a helm install line');
  const setsOf = (line: string): string[] => {
    const argv = words(line);
    return argv.flatMap((w, i) => (w === '--set' ? [argv[i + 1]!] : []));
  };
  const sets = setsOf(install);
  assert.ok(sets.includes('image.repository=mcpmux') && sets.includes(`image.tag=${pkg.version}`) && sets.includes('image.pullPolicy=Never'), sets.join(' '));
  const values = parseYaml(readFileSync(join(ROOT, 'deploy/helm/mcpmux/values.yaml'), 'utf8')) as Record<string, unknown>;
  const everySet = lines.filter((l) => l.startsWith('helm ')).flatMap(setsOf);
  assert.ok(everySet.includes('nats.image.repository=mcpmux-nats'), 'the local NATS image is set too');
  for (const set of everySet) {
    const path = set.split('=')[0]!.split('.');
    let at: unknown = values;
    for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
    assert.ok(at !== undefined, `${set}: ${path.join('.')} is a key of values.yaml`);
  }
  const { docs } = await render(sets.flatMap((s) => ['--set', s]));
  const cp = container(one(docs, 'Deployment', 'mcpmux-control-plane'));
  assert.is(cp.image, `mcpmux:${pkg.version}`);
  assert.is(cp.imagePullPolicy, 'Never');
  const defaults = (one(docs, 'ConfigMap', 'mcpmux-proxy-defaults') as unknown as { data: Record<string, string> }).data;
  assert.is(defaults.image, `mcpmux:${pkg.version}`, 'provisioned proxies run it too');
  assert.is(defaults.imagePullPolicy, 'Never');
  // The upgrade to the local NATS: its StatefulSet runs that image's nats-server (on its PATH).
  const upgrade = lines.find((l) => l.startsWith('helm upgrade mcpmux deploy/helm/mcpmux'));
  assert.ok(upgrade, 'a helm upgrade line for NATS');
  const withNats = await render([...sets, ...setsOf(upgrade)].flatMap((s) => ['--set', s]));
  const nats = container(one(withNats.docs, 'StatefulSet'));
  assert.is(nats.image, imageOf('mcpmux-nats'));
  assert.is(nats.imagePullPolicy, 'Never');
  assert.equal(nats.command, ['nats-server']);
  // The chart's defaults are the same image: after `kind load`, the flags only make it explicit.
  const plain = await render();
  assert.is(container(one(plain.docs, 'Deployment', 'mcpmux-control-plane')).image, `mcpmux:${pkg.version}`);
});

test('each docker build names a Dockerfile, context and tag that npm run image builds', () => {
  const builds = lines.filter((l) => l.startsWith('docker build '));
  assert.is(builds.length, 4, builds.join('\n'));
  for (const line of builds) {
    const argv = words(line);
    const file = argv[argv.indexOf('-f') + 1]!;
    const tag = argv[argv.indexOf('-t') + 1]!;
    const context = argv.at(-1)!;
    const spec = IMAGES.find((i) => i.dockerfile === file);
    assert.ok(spec, `${line}: ${file} is a Dockerfile npm run image builds`);
    assert.is(tag, `${spec.name}:${spec.tag}`, `${line}: the tag npm run image gives it`);
    if (spec.name === 'mcpmux-nats') {
      assert.ok(lines.some((l) => l.includes(`go install ${GO_TOOLS['nats-server']}`) && l.includes(`GOBIN=${context}`) && l.includes('CGO_ENABLED=0')), 'the static nats-server is built into the context first');
    } else {
      assert.ok(existsSync(join(ROOT, context)), `${line}: context ${context} exists`);
    }
  }
});

test('the Deployments it re-points are the tutorial\'s, to images it built, leaving the manifests as they are', () => {
  const objects = parseAllDocuments(readFileSync(TUTORIAL_MANIFESTS, 'utf8')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: { template?: { spec: { containers: Array<{ name: string; imagePullPolicy?: string }> } } } },
  );
  const containerOf = (deployment: string, name: string) =>
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment)?.spec?.template?.spec.containers.find((c) => c.name === name);
  const built = new Set(IMAGES.map((i) => `${i.name}:${i.tag}`));

  const setImage = words(lines.find((l) => l.includes('set image deployment/'))!);
  const [deployment, assignment] = [setImage[setImage.indexOf('image') + 1]!.replace('deployment/', ''), setImage[setImage.indexOf('image') + 2]!];
  const [name, image] = assignment.split('=') as [string, string];
  assert.ok(containerOf(deployment, name), `${deployment}/${name} is in tutorial.yaml`);
  assert.ok(built.has(image), `${image} is built here`);

  const patchLine = words(lines.find((l) => l.includes('patch deployment '))!);
  const patched = patchLine[patchLine.indexOf('deployment') + 1]!;
  const patch = JSON.parse(patchLine[patchLine.indexOf('--patch') + 1]!) as { spec: { template: { spec: { containers: Array<{ name: string; image: string; imagePullPolicy: string }> } } } };
  const [target] = patch.spec.template.spec.containers;
  assert.ok(containerOf(patched, target!.name), `${patched}/${target!.name} is in tutorial.yaml`);
  assert.ok(built.has(target!.image), `${target!.image} is built here`);
  // Why the patch and not set image: the tutorial pulls this one Always, which needs a registry.
  assert.is(containerOf(patched, target!.name)!.imagePullPolicy, 'Always');
  assert.is(target!.imagePullPolicy, 'IfNotPresent');
});

test('the README\'s cluster section points at docs/kind.md and names no published image', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /## Run it against a cluster\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  assert.ok(section.length > 0, 'the section exists');
  assert.match(section, /\(docs\/kind\.md\)/);
  assert.not.match(readme, /mcpmux\/mcpmux/);
  assert.not.match(readFileSync(join(ROOT, 'deploy/helm/mcpmux/values.yaml'), 'utf8'), /mcpmux\/mcpmux/);
});

test.run();
