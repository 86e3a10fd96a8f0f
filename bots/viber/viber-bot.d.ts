/** The part of viber-bot 1.0.x the adapter uses; the package ships no types. */
declare module 'viber-bot' {
  namespace viber {
    interface ViberMessage {
      toJson(): Record<string, unknown>;
    }
    interface ViberClient {
      /** the API root, kept on a private field: set only in bots/viber/client.ts */
      _url: string;
      _sendRequest(endpoint: string, data: Record<string, unknown>): Promise<Record<string, unknown>>;
    }
    class Bot {
      constructor(config: { authToken: string; name: string; avatar: string; registerToEvents?: string[] });
      readonly authToken: string;
      readonly name: string;
      readonly avatar: string;
      _client: ViberClient;
      /** resolves with the message tokens of the sent messages */
      sendMessage(user: { id: string }, messages: ViberMessage | ViberMessage[], trackingData?: unknown, chatId?: string): Promise<unknown[]>;
      getBotProfile(): Promise<Record<string, unknown>>;
      setWebhook(url: string, isInline?: boolean): Promise<Record<string, unknown>>;
    }
    const Message: {
      Text: new (text: string, keyboard?: unknown, trackingData?: unknown) => ViberMessage;
      /** `picture`: media is a URL ending in .jpeg/.png/.gif; text is the caption */
      Picture: new (url: string, text?: string | null, thumbnail?: string | null) => ViberMessage;
      /** `video`: media is a URL ending in .mp4; size in bytes is required */
      Video: new (url: string, size: number, text?: string | null, thumbnail?: string | null, duration?: number | null) => ViberMessage;
      /** `file`: media URL, size in bytes and file_name, all required */
      File: new (url: string, sizeInBytes: number, filename: string) => ViberMessage;
    };
  }
  export = viber;
}
