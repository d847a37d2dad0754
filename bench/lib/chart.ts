import { attainment, type Goal, meets } from './goals.js';

/** One row of the chart: a goal and this run's ratio (undefined: not measured). */
export interface ChartRow {
  goal: Goal;
  ratio: number | undefined;
}

const WIDTH = 860;
const LABEL_WIDTH = 370;
const VALUE_WIDTH = 150;
const ROW_HEIGHT = 28;
const TOP = 56;
const BOTTOM = 40;
/** The bar axis runs from 0 to twice the goal; a bar past that is drawn to the edge with an arrow. */
const AXIS_MAX = 2;

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const format = (value: number) =>
  value >= 100
    ? value.toFixed(0)
    : value >= 10
      ? value.toFixed(1)
      : value >= 0.1
        ? value.toFixed(2)
        : value.toPrecision(2);

/**
 * A horizontal bar per ratio, scaled so that every goal sits on the same vertical line:
 * a throughput ratio (goal "≥ g") is drawn as ratio / g, a cost ratio (goal "≤ g") as
 * g / ratio, so a bar that reaches the line meets its goal whichever way the ratio runs.
 * Green meets the goal, red does not, grey was not measured. Plain SVG, no dependencies.
 */
export function renderChart(rows: readonly ChartRow[], subtitle: string): string {
  const plotLeft = LABEL_WIDTH;
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = TOP + rows.length * ROW_HEIGHT + BOTTOM;
  const x = (value: number) => plotLeft + (Math.min(value, AXIS_MAX) / AXIS_MAX) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    '<title>MultiClaw benchmarks: each ratio against its goal</title>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">MultiClaw benchmarks: each ratio against its goal</text>`,
    `<text x="12" y="40" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  rows.forEach((row, index) => {
    const y = TOP + index * ROW_HEIGHT;
    const sign = row.goal.direction === 'atLeast' ? '≥' : '≤';
    parts.push(`<text x="12" y="${y + 18}">${escapeXml(row.goal.label)}</text>`);
    if (row.ratio === undefined) {
      parts.push(
        `<rect x="${plotLeft}" y="${y + 6}" width="${plotWidth}" height="16" fill="#eeeeee"/>`,
        `<text x="${plotLeft + 6}" y="${y + 18}" fill="#777">not measured</text>`,
        `<text x="${WIDTH - VALUE_WIDTH + 8}" y="${y + 18}" fill="#777">goal ${sign} ${row.goal.goal}</text>`,
      );
      return;
    }
    const reached = attainment(row.goal, row.ratio);
    const colour = meets(row.goal, row.ratio) ? '#2e8b57' : '#c0392b';
    const end = x(reached);
    parts.push(
      `<rect x="${plotLeft}" y="${y + 6}" width="${Math.max(end - plotLeft, 1).toFixed(1)}" height="16" fill="${colour}"/>`,
    );
    if (reached > AXIS_MAX)
      parts.push(`<path d="M${end - 8},${y + 6} L${end},${y + 14} L${end - 8},${y + 22} Z" fill="#ffffff"/>`);
    parts.push(
      `<text x="${WIDTH - VALUE_WIDTH + 8}" y="${y + 18}" fill="${colour}">${format(row.ratio)}× (goal ${sign} ${row.goal.goal})</text>`,
    );
  });
  const goalX = x(1);
  const axisY = TOP + rows.length * ROW_HEIGHT;
  parts.push(
    `<line x1="${goalX}" y1="${TOP - 4}" x2="${goalX}" y2="${axisY + 4}" stroke="#222" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<line x1="${plotLeft}" y1="${axisY + 4}" x2="${plotLeft + plotWidth}" y2="${axisY + 4}" stroke="#999"/>`,
    `<text x="${plotLeft}" y="${axisY + 20}" fill="#555">0</text>`,
    `<text x="${goalX}" y="${axisY + 20}" text-anchor="middle" font-weight="600">goal</text>`,
    `<text x="${plotLeft + plotWidth}" y="${axisY + 20}" text-anchor="end" fill="#555">2× better than the goal</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
