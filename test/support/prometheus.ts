// Reading Prometheus text in tests: each series of a metric as its labels, plus `value`.

/** The series of `metric` in a /stats/prometheus page, each as its labels and its value (as text). */
export function series(prometheus: string, metric: string): Record<string, string>[] {
  return prometheus.split('\n').filter((line) => line.startsWith(`${metric}{`)).map((line) => {
    const labels: Record<string, string> = {};
    for (const m of line.slice(metric.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    labels.value = line.slice(line.lastIndexOf('}') + 2);
    return labels;
  });
}
