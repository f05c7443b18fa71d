/** Instant query against the Prometheus HTTP API: the sum of the result vector, undefined when empty. */
export async function prometheusQuery(baseUrl: string, promql: string, fetchImpl: typeof fetch = fetch): Promise<number | undefined> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const res = await fetchImpl(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`Prometheus ${url}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { status: string; data?: { resultType: string; result: { value: [number, string] }[] } };
  if (body.status !== 'success' || !body.data) throw new Error(`Prometheus ${url}: ${JSON.stringify(body).slice(0, 300)}`);
  const values = body.data.result.map((r) => Number(r.value[1])).filter((v) => Number.isFinite(v));
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}
