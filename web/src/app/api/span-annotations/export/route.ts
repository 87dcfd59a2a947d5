import { listSpanAnnotations } from '@/lib/db/queries';
import { exportFileName, toExportDocument } from '@/lib/export';
import { jsonError } from '@/lib/http';
import { parseWith, partitionFilterSchema, queryObject } from '@/lib/validation';

export const dynamic = 'force-dynamic';

/**
 * GET /api/span-annotations/export?pair&timeframe: the docs/DESIGN.md export file the pipeline
 * reads (data.annotations_path). `download=1` adds Content-Disposition for a browser download.
 */
export async function GET(request: Request): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const { download, ...filterQuery } = queryObject(params);
  const filter = parseWith(partitionFilterSchema, filterQuery, 'query');
  if (!filter.ok) return jsonError(400, filter.error);
  const doc = toExportDocument(await listSpanAnnotations(filter.data));
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (download === '1' || download === 'true') {
    headers['content-disposition'] = `attachment; filename="${exportFileName(filter.data)}"`;
  }
  return Response.json(doc, { headers });
}
