/** The HTTP auth API (POST /auth/signup, /auth/login); errors carry the server's message. */
export interface AuthResult {
  accessToken: string;
  user: string;
}

export async function authRequest(kind: 'signup' | 'login', username: string, password: string): Promise<AuthResult> {
  let res: Response;
  try {
    res = await fetch(`/auth/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new Error('The server cannot be reached. Check your connection and try again.');
  }
  const body = (await res.json().catch(() => ({}))) as Partial<AuthResult> & { error?: string };
  if (!res.ok || !body.accessToken || !body.user) throw new Error(body.error ?? `${kind} failed (${res.status})`);
  return { accessToken: body.accessToken, user: body.user };
}
