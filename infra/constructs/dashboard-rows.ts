/**
 * Dashboards as rows of titled widgets: every Sluice dashboard is built from rows, and keeps its
 * layout so `npm run describe:operations` can print it for people without a console.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import { AlarmStatusWidget, Dashboard, type IAlarm, type IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

export interface TitledWidget {
  readonly title: string;
  readonly widget: IWidget;
}

export interface WidgetRow {
  readonly title: string;
  readonly widgets: readonly TitledWidget[];
}

/** The dashboard as rows of titled widgets, for people reading it without a console. */
export interface DashboardRow {
  readonly title: string;
  readonly widgets: readonly { readonly title: string; readonly width: number; readonly height: number }[];
}

export const PERIOD = Duration.minutes(5);
export const ROW_HEIGHT = 6;
/** CloudWatch shows at most 100 alarms in one alarm status widget; 50 keep one readable. */
export const ALARMS_PER_STATUS_WIDGET = 50;

/**
 * The name of a stack's dashboard. Dashboards are global to the account, not regional, so the
 * region is part of the name: a copy of the app in another region never overwrites this one.
 */
export function dashboardNameOf(stackName: string): string {
  return `${stackName}-${Aws.REGION}`;
}

/** Alarm status widgets for `alarms`, at most 50 in each, four alarms a line. */
export function alarmStatusRows(title: string, alarms: readonly IAlarm[]): TitledWidget[] {
  const widgets: TitledWidget[] = [];
  for (let start = 0; start < alarms.length; start += ALARMS_PER_STATUS_WIDGET) {
    const chunk = alarms.slice(start, start + ALARMS_PER_STATUS_WIDGET);
    const part = alarms.length > ALARMS_PER_STATUS_WIDGET ? ` (${start / ALARMS_PER_STATUS_WIDGET + 1})` : '';
    widgets.push({
      title: `${title}${part}`,
      widget: new AlarmStatusWidget({
        title: `${title}${part}`,
        alarms: [...chunk],
        width: 24,
        height: Math.max(2, Math.ceil(chunk.length / 4) + 1),
      }),
    });
  }
  return widgets;
}

export interface RowDashboardProps {
  readonly dashboardName: string;
  readonly rows: readonly WidgetRow[];
}

/** A CloudWatch dashboard laid out row by row. */
export class RowDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly layout: readonly DashboardRow[];

  constructor(scope: Construct, id: string, props: RowDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(6),
    });
    for (const row of props.rows) this.dashboard.addWidgets(...row.widgets.map((w) => w.widget));
    this.layout = props.rows.map((row) => ({
      title: row.title,
      widgets: row.widgets.map(({ title, widget }) => ({
        title,
        width: widget.width,
        height: widget.height,
      })),
    }));
  }

  /** How many widgets it has (CloudWatch allows 500). */
  get widgetCount(): number {
    return this.layout.reduce((sum, row) => sum + row.widgets.length, 0);
  }
}
