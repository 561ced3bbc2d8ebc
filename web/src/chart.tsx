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

export function TimeChart(props: { title: string; unit: string; times: string[]; lines: Line[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current!;
    const seconds = props.times.map((time) => Date.parse(time) / 1000);
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        series: [{}, ...props.lines.map((line) => ({ label: line.label, stroke: line.color, width: 2, spanGaps: true }))],
        axes: [{}, { label: props.unit }],
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
