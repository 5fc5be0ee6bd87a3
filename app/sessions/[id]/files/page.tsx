import { FilesEditor } from "../../../_components/FilesEditor";

export default async function FilesPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <FilesEditor sessionId={id} />;
}
