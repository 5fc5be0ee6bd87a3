import { SessionsTable } from "./_components/SessionsTable";

export default function SessionsPage() {
  return <SessionsTable />;
}
