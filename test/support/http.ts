export interface ApiResponse<T = any> {
  status: number;
  body: { code: number; msg: string; data?: T; [key: string]: unknown };
}

/** A small HTTP client for e2e tests: real requests to a listening server. */
export class Api {
  constructor(readonly baseUrl: string) {}

  async call<T = any>(method: string, path: string, options: { token?: string; body?: unknown; raw?: string } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined;
    if (options.raw !== undefined || options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = options.raw ?? JSON.stringify(options.body);
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let body: ApiResponse<T>['body'];
    try {
      body = JSON.parse(text);
    } catch {
      body = { code: -1, msg: text };
    }
    return { status: res.status, body };
  }

  get<T = any>(path: string, token?: string) {
    return this.call<T>('GET', path, { token });
  }

  post<T = any>(path: string, body?: unknown, token?: string) {
    return this.call<T>('POST', path, { body: body ?? {}, token });
  }

  patch<T = any>(path: string, body: unknown, token?: string) {
    return this.call<T>('PATCH', path, { body, token });
  }

  put<T = any>(path: string, body: unknown, token?: string) {
    return this.call<T>('PUT', path, { body, token });
  }

  delete<T = any>(path: string, token?: string) {
    return this.call<T>('DELETE', path, { token });
  }
}
