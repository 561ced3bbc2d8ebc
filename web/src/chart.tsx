/** A time-series line chart (uPlot), with its figures also in a table for screen readers and keyboards. */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatTime } from "./ui";

export interface Line {
  label: string;
  color: string;
  values: (number | null)[];
}

const TIME = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZone: "UTC",
});
const DAY_TIME = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZone: "UTC",
});

/** Tick labels in UTC, as every time on the page is: "06:00", or "1 Dec, 06:00" over more than a day. */
function tickLabel(seconds: number[]): (tick: number) => string {
  const format = seconds.length && seconds[seconds.length - 1] - seconds[0] > 86_400 ? DAY_TIME : TIME;
  return (tick) => format.format(new Date(tick * 1000));
}

export function TimeChart(props: { title: string; unit: string; times: string[]; lines: Line[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current!;
    const seconds = props.times.map((time) => Date.parse(time) / 1000);
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: 220,
        series: [
          {},
          ...props.lines.map((line) => ({ label: line.label, stroke: line.color, width: 2, spanGaps: true })),
        ],
        scales: { y: { range: (_chart, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{ values: (_chart, ticks) => ticks.map(tickLabel(seconds)) }, { label: props.unit }],
        legend: { live: false },
      },
      [seconds, ...props.lines.map((line) => line.values)],
      element,
    );
    const resize = () => chart.setSize({ width: Math.max(element.clientWidth, 280), height: 220 });
    addEventListener("resize", resize);
    return () => {
      removeEventListener("resize", resize);
      chart.destroy();
    };
  }, [props.times, props.lines]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} aria-hidden="true" />
      <details>
        <summary>Figures of “{props.title}”</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">From (UTC)</th>
                {props.lines.map((line) => (
                  <th scope="col">
                    {line.label} ({props.unit})
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.times.map((time, index) => (
                <tr>
                  <td>{formatTime(time)}</td>
                  {props.lines.map((line) => (
                    <td>{line.values[index] ?? "–"}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
