import { SessionDetail } from "../../_components/SessionDetail";

export default async function SessionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <SessionDetail sessionId={id} />;
}
