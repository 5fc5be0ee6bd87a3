import { OverviewView } from "../_components/OverviewView";

export default function OverviewPage() {
  return <OverviewView />;
}
